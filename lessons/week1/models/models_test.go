package models

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
)

// smallModel is a random model with the corpus's char tokenizer, small enough to compile fast.
func smallModel(t *testing.T, arch llm.Arch) *llm.Model {
	t.Helper()
	tok := week1.CharZH()
	c := llm.TinyGPT(tok.VocabSize())
	heads := llm.HeadSet{}
	if arch == llm.BERT {
		c = llm.TinyBERT(tok.VocabSize())
		heads.MLM = true
	}
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 32, 2, 2, 64, 64
	m, err := llm.New(c, heads, 7)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	return m
}

// The plain-Go recomputation of a head from the model's weights matches the attention
// GoMLX computed in the forward pass, for both architectures and every layer.
func TestStepThroughModelMatchesForward(t *testing.T) {
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := smallModel(t, arch)
		for l := range m.Config.Layers {
			w, err := StepThroughModel(m, week1.StorySentence, l, 1)
			if err != nil {
				t.Fatal(err)
			}
			if w.MaxDiff > 1e-4 || math.IsNaN(w.MaxDiff) {
				t.Errorf("%s layer %d: plain Go differs from the model by %g", arch, l, w.MaxDiff)
			}
			n := 8
			if arch == llm.BERT {
				n = 10 // [CLS] … [SEP]
				if w.Tokens[0] != "[CLS]" || w.Mask != nil {
					t.Errorf("bert tokens %v", w.Tokens)
				}
			} else if w.Steps.Probs[0][1] != 0 {
				t.Error("GPT attention should be causal")
			}
			if len(w.Tokens) != n {
				t.Errorf("%s: %d tokens", arch, len(w.Tokens))
			}
		}
		if _, err := StepThroughModel(m, week1.StorySentence, 5, 0); err == nil {
			t.Error("layer out of range should be an error")
		}
	}
}

func TestFindHead(t *testing.T) {
	m := smallModel(t, llm.BERT)
	best, all, err := FindHead(m, week1.StorySentence, "银行", "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || best != all[0] {
		t.Fatalf("%d heads, best %+v", len(all), best)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Weight > all[i-1].Weight {
			t.Error("not sorted")
		}
	}
	// Recompute the best head's score: [CLS] 我昨天去 银(5)行(6) 钓(7)鱼(8) [SEP].
	w, _ := StepThroughModel(m, week1.StorySentence, best.Layer, best.Head)
	p := w.Steps.Probs
	want := (p[5][7] + p[5][8] + p[6][7] + p[6][8]) / 2
	if math.Abs(best.Weight-want) > 1e-4 {
		t.Errorf("weight %g, want %g", best.Weight, want)
	}
	if _, _, err := FindHead(m, week1.StorySentence, "河", "钓鱼"); err == nil {
		t.Error("a missing word should be an error")
	}
}

func TestContextShift(t *testing.T) {
	a, b := "我昨天去银行钓鱼", "我昨天去银行取钱"
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := smallModel(t, arch)
		s, err := ContextShift(m, a, b, "银行")
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != m.Config.Layers+1 {
			t.Fatalf("%d similarities", len(s))
		}
		// Same characters at the same positions: identical embeddings.
		if math.Abs(s[0]-1) > 1e-6 {
			t.Errorf("%s: embeddings differ (cos %g)", arch, s[0])
		}
		last := s[len(s)-1]
		if arch == llm.GPT && math.Abs(last-1) > 1e-5 {
			t.Errorf("GPT: 银行 cannot see what follows, yet cos = %g", last)
		}
		if arch == llm.BERT && last > 1-1e-6 { // random weights mix little, but some
			t.Errorf("BERT: 银行 sees the whole sentence, yet cos = %g", last)
		}
	}
	if _, err := ContextShift(smallModel(t, llm.GPT), a, b, "河"); err == nil {
		t.Error("a missing word should be an error")
	}
}

func TestAttentionFor(t *testing.T) {
	m := smallModel(t, llm.GPT)
	am, err := AttentionFor(m, week1.StorySentence)
	if err != nil {
		t.Fatal(err)
	}
	if len(am.Weights) != 2 || len(am.Layer(1)) != 2 || len(am.Weights[0][0]) != 8 || am.Tokens[4] != "银" {
		t.Fatalf("shape %d layers, tokens %v", len(am.Weights), am.Tokens)
	}
	w, _ := StepThroughModel(m, week1.StorySentence, 1, 0)
	if d, _ := maxDiff(w.Steps.Probs, am.Weights[1][0]); d > 1e-4 {
		t.Errorf("AttentionFor and StepThroughModel differ by %g", d)
	}
	rows, cols := week1.HeadLabels(am.Weights[0][0][:2])
	if len(rows) != 2 || len(cols) != 8 {
		t.Error("labels")
	}
}

func TestPretrainRunInChunks(t *testing.T) {
	c := DemoGPT(week1.CharZH().VocabSize())
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
	fs, err := FillMask(m, week1.MLMSentence, 5)
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

func TestLossView(t *testing.T) {
	t.Setenv("DIVELLM_OUT", t.TempDir())
	r, err := NewPretrainRun(PretrainConfig{Steps: 10, BatchSize: 4, SeqLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, feed := r.LossView("loss")
	if l.Progress == nil || l.Progress.TokensPerStep != 4*16 {
		t.Fatalf("progress bar %+v", l.Progress)
	}
	feed(llm.Progress{Step: 1, Steps: 10, Loss: 7, ValLoss: math.NaN()})
	feed(llm.Progress{Step: 2, Steps: 10, Loss: 6, ValLoss: 6.5})
	if err := l.Chart().Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.Done(); err != nil {
		t.Fatal(err)
	}
}

// maxDiff is the largest |a−b| over two matrices of the same shape.
func maxDiff(a, b [][]float64) (float64, string) {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d, ""
}

// The neuron view of a GPT head gets the model's causal row: query 钓 puts exactly 0 on
// the future key 鱼, as the model does (it used to recompute an unmasked softmax).
func TestNeuronViewIsCausalForGPT(t *testing.T) {
	m := smallModel(t, llm.GPT)
	w, err := StepThroughModel(m, week1.StorySentence, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	q, future := w.Index("钓"), w.Index("鱼")
	if w.Steps.Probs[q][future] != 0 {
		t.Fatalf("model row puts %g on the future", w.Steps.Probs[q][future])
	}
	if err := w.NeuronView(q).Err(); err != nil {
		t.Errorf("neuron view of the model's own row: %v", err)
	}
}

// The plain-Go block matches the model's own hidden states, for both architectures and
// every layer, and the output head matches its logits.
func TestWalkBlockMatchesForward(t *testing.T) {
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := smallModel(t, arch)
		for l := range m.Config.Layers {
			w, err := WalkBlock(m, week1.StorySentence, l)
			if err != nil {
				t.Fatal(err)
			}
			if w.MaxDiff > 1e-4 || math.IsNaN(w.MaxDiff) {
				t.Errorf("%s layer %d: plain-Go block differs from the model by %g", arch, l, w.MaxDiff)
			}
			last := w.Stages[len(w.Stages)-1]
			if len(last.Value[0]) != m.Config.DModel || last.RMS() <= 0 {
				t.Errorf("%s: output stage %+v", arch, last.Shape)
			}
			if l == m.Config.Layers-1 {
				if len(w.Head) == 0 || w.HeadDiff > 1e-3 || math.IsNaN(w.HeadDiff) {
					t.Errorf("%s: output head differs by %g (%d stages)", arch, w.HeadDiff, len(w.Head))
				}
				if arch == llm.GPT && (len(w.Next) != 5 || w.Next[0].Prob < w.Next[1].Prob) {
					t.Errorf("next tokens %+v", w.Next)
				}
			} else if len(w.Head) != 0 {
				t.Error("head computed for an inner layer")
			}
			if h, rows := w.Table(); len(rows) != len(w.Stages)+len(w.Head) || len(rows[0]) != len(h) {
				t.Error("table")
			}
		}
		if _, err := WalkBlock(m, week1.StorySentence, 9); err == nil {
			t.Error("layer out of range should be an error")
		}
	}
	// A post-LN block ends in a LayerNorm with γ = 1, β = 0 at init: every token's output
	// has mean 0 and variance 1, so RMS 1.
	m := smallModel(t, llm.BERT)
	r, err := ResidualRMS(m, week1.StorySentence)
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != m.Config.Layers+1 || math.Abs(r[len(r)-1]-1) > 1e-3 {
		t.Errorf("BERT residual RMS %v, want the last ≈ 1", r)
	}
}

// The sampling rules shown in the lesson give the distribution llm's generator samples
// from: the candidates of one generated token with temperature, top-k and top-p.
func TestNextTokenMatchesGenerate(t *testing.T) {
	m := smallModel(t, llm.GPT)
	nt, err := NextToken(m, "我今天去")
	if err != nil {
		t.Fatal(err)
	}
	if len(nt.Logits) != m.Config.VocabSize || len(nt.Tokens) != len(nt.Logits) {
		t.Fatalf("%d logits", len(nt.Logits))
	}
	for _, o := range []llm.GenerateOptions{{Temperature: 0.7}, {Temperature: 1.3, TopK: 5}, {Temperature: 1, TopP: 0.5}} {
		o.MaxTokens, o.TopN, o.Seed = 1, 3, 1
		g, err := m.Generate("我今天去", o)
		if err != nil {
			t.Fatal(err)
		}
		p := week1.Sampling{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}.Probs(nt.Logits)
		for _, c := range g.Steps[0].Candidates {
			if math.Abs(p[c.ID]-c.Prob) > 1e-4 {
				t.Errorf("%+v: token %d p = %.5f, the generator says %.5f", o, c.ID, p[c.ID], c.Prob)
			}
		}
	}
	if _, err := NextToken(smallModel(t, llm.BERT), "我"); err == nil {
		t.Error("a BERT should be refused")
	}
}

func TestPositionsSenseArch(t *testing.T) {
	g, b := smallModel(t, llm.GPT), smallModel(t, llm.BERT)
	pos, err := PositionEmbeddings(g, 16)
	if err != nil || len(pos) != 16 || len(pos[0]) != g.Config.DModel {
		t.Fatalf("positions %d, %v", len(pos), err)
	}
	if _, err := PositionEmbeddings(b, 10_000); err == nil {
		t.Error("too many positions should be an error")
	}
	st := week1.SenseTests()[1]
	r, err := SenseShift(g, st)
	if err != nil {
		t.Fatal(err)
	}
	// A decoder cannot see what follows the word: every pair is identical.
	if len(r.Controls) != len(st.Controls) || math.Abs(r.Cross[len(r.Cross)-1]-1) > 1e-5 {
		t.Errorf("GPT sense shift %+v", r)
	}
	h, rows := ArchTable(g, b)
	if len(rows) != 2 || len(rows[0]) != len(h) || rows[0][0] != "GPT" || !strings.Contains(rows[0][2], "pre-LN") || !strings.Contains(rows[1][2], "post-LN") {
		t.Errorf("arch table %v", rows)
	}
}
