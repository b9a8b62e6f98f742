package week1

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
)

func TestPretrainRunInChunks(t *testing.T) {
	c := DemoGPT(CharZH().VocabSize())
	c.DModel, c.Heads, c.DFF, c.Layers = 32, 2, 64, 1
	r, err := NewPretrainRun(PretrainConfig{Model: c, Steps: 12, Chunk: 5, BatchSize: 4, SeqLen: 16, LR: 1e-2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var steps []int
	res, err := r.Run(func(p llm.Progress) { steps = append(steps, p.Step) })
	if err != nil {
		t.Fatal(err)
	}
	// Three Train calls (5+5+2 steps) continue one schedule: steps 1..12 in order.
	if res.Steps != 12 || len(res.Losses) != 12 || res.StoppedEarly {
		t.Fatalf("result %+v", res)
	}
	for i, s := range steps {
		if s != i+1 {
			t.Fatalf("progress steps %v", steps)
		}
	}
	if !(res.ValLoss < res.InitialValLoss) || math.Abs(res.InitialValLoss-math.Log(float64(c.VocabSize))) > 0.3 {
		t.Errorf("val loss %.3f → %.3f (untrained ≈ ln %d = %.2f)", res.InitialValLoss, res.ValLoss, c.VocabSize, math.Log(float64(c.VocabSize)))
	}
	if _, err := r.Sample("我今天去", 5); err != nil {
		t.Fatal(err)
	}

	r2, _ := NewPretrainRun(PretrainConfig{Model: c, Steps: 12, Chunk: 5, BatchSize: 4, SeqLen: 16, TimeBudget: time.Nanosecond})
	defer r2.Close()
	res2, err := r2.Run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.StoppedEarly || res2.Steps != 5 {
		t.Errorf("time budget: %+v", res2)
	}
	c.VocabSize++
	if _, err := NewPretrainRun(PretrainConfig{Model: c}); err == nil {
		t.Error("vocabulary mismatch should be an error")
	}
}

func TestNSPExamples(t *testing.T) {
	pairs, err := NSPExamples(CharZH(), 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := data.CorpusLines()
	for i, p := range pairs {
		if p.IsNext != (i%2 == 0) {
			t.Errorf("pair %d label %s", i, p.Label())
		}
		together := false
		for _, l := range train {
			if a := strings.Index(l, p.A); a >= 0 && strings.HasPrefix(strings.TrimLeft(l[a+len(p.A):], " "), p.B) {
				together = true
				break
			}
		}
		if together != p.IsNext {
			t.Errorf("pair %d (%s): A=%q B=%q directly follow each other in the corpus: %v", i, p.Label(), p.A, p.B, together)
		}
		na := len([]rune(p.A))
		if p.Tokens[0] != "[CLS]" || p.Tokens[na+1] != "[SEP]" || p.Tokens[len(p.Tokens)-1] != "[SEP]" {
			t.Errorf("tokens %v", p.Tokens)
		}
		if zeros := len(p.TypeIDs) - slices.Index(p.TypeIDs, 1); slices.Index(p.TypeIDs, 1) != na+2 || zeros != len([]rune(p.B))+1 {
			t.Errorf("type ids %v", p.TypeIDs)
		}
	}
}

func TestProbeAccuracyCounts(t *testing.T) {
	m := smallModel(t, llm.BERT)
	// Plant an answer: a huge output bias for 盘 makes it every probe's first candidate, and
	// 院 the second.
	pan, _ := m.Tokenizer.TokenToID("盘")
	yuan, _ := m.Tokenizer.TokenToID("院")
	bias, _ := m.Weights.Float32("cls.predictions.bias")
	bias[pan], bias[yuan] = 100, 90
	if err := m.Weights.Set("cls.predictions.bias", m.Weights.Shape("cls.predictions.bias"), bias); err != nil {
		t.Fatal(err)
	}
	r, err := ProbeAccuracy(m)
	if err != nil {
		t.Fatal(err)
	}
	probes := data.MLMProbes()
	var want1, want5 int
	for _, p := range probes {
		if slices.Contains(p.Answers, "盘") {
			want1++
		}
		if slices.Contains(p.Answers, "盘") || slices.Contains(p.Answers, "院") {
			want5++
		}
	}
	if want1 == 0 || want5 == want1 {
		t.Fatalf("probe set changed: %d with 盘, %d with 盘 or 院", want1, want5)
	}
	if r.N != len(probes) || r.Top1 != float64(want1)/float64(r.N) || r.Top5 < float64(want5)/float64(r.N) {
		t.Errorf("top-1 %.3f (want %d/%d), top-5 %.3f (≥ %d/%d)", r.Top1, want1, r.N, r.Top5, want5, r.N)
	}
	if r.Rows[0].Top[0].Token != "盘" || len(r.Rows[0].Top) != 5 {
		t.Errorf("row %+v", r.Rows[0])
	}
	h, rows := r.Table(3)
	if len(rows) != 3 || len(rows[0]) != len(h) {
		t.Error("table")
	}
	fs, err := FillMask(m, MLMSentence, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 5 || fs[0].Token != "盘" || fs[0].Sentence != "我今天去盘超市" || fs[0].Prob < fs[1].Prob {
		t.Errorf("fill %+v", fs)
	}
	if _, err := FillMask(m, "没有面具", 5); err == nil {
		t.Error("text without [MASK] should be an error")
	}
}
