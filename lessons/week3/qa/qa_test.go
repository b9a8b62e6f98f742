package qa

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// tinyQA is a randomly initialised one-layer BERT with a QA head and a character
// tokenizer built from the examples' text (fast to make, no training).
func tinyQA(t *testing.T, es []data.QAExample) *llm.Model {
	t.Helper()
	var sb strings.Builder
	for _, e := range es {
		sb.WriteString(e.Question + e.Context + "?？")
	}
	tok := tokenizer.NewChar(sb.String(), tokenizer.CharOptions{})
	c := llm.TinyBERT(tok.VocabSize())
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 32, 2, 1, 64, 128
	c.PadID = tok.Specials().PAD
	m, err := llm.New(c, llm.HeadSet{QA: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	return m
}

func split(t *testing.T, name string, n int) []data.QAExample {
	t.Helper()
	es, err := data.QA(name)
	if err != nil {
		t.Fatal(err)
	}
	return es[:min(n, len(es))]
}

// The target tokens of every window cover exactly the answer's characters; a window that
// does not hold the answer points at [CLS].
func TestFeaturesTargets(t *testing.T) {
	train, long := split(t, "train", 300), split(t, "long", 6)
	m := tinyQA(t, append(append([]data.QAExample{}, train...), long...))
	tok := m.Tokenizer
	for _, c := range []struct {
		es             []data.QAExample
		maxLen, stride int
	}{{train, 128, 32}, {long, 64, 16}} {
		fs, err := Features(tok, c.es, c.maxLen, c.stride)
		if err != nil {
			t.Fatal(err)
		}
		inside, outside := 0, 0
		for _, f := range fs {
			e := c.es[f.Example]
			if len(f.IDs) > c.maxLen || len(f.IDs) != len(f.TypeIDs) {
				t.Fatalf("%s: window of %d tokens (%d type ids), limit %d", e.ID, len(f.IDs), len(f.TypeIDs), c.maxLen)
			}
			if f.Start == 0 && f.End == 0 {
				outside++
				continue
			}
			inside++
			if f.TypeIDs[f.Start] != 1 || f.End < f.Start {
				t.Fatalf("%s: target %d..%d not in the context segment", e.ID, f.Start, f.End)
			}
			// Character tokenizer: one id per character, so the ids spell the answer.
			if got := tok.Decode(f.IDs[f.Start : f.End+1]); strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(e.Answers.Text[0], " ", "") {
				t.Fatalf("%s: target tokens spell %q, answer %q", e.ID, got, e.Answers.Text[0])
			}
		}
		// Short contexts fit one window with their answer; in windows of 64 tokens with a
		// stride of 16, a long answer may straddle every window, but most windows miss it.
		if (c.maxLen == 128 && inside != len(c.es)) || (c.maxLen == 64 && (inside == 0 || outside <= inside)) {
			t.Errorf("maxLen %d: %d windows with the answer for %d examples, %d without", c.maxLen, inside, len(c.es), outside)
		}
	}
}

// Batch pads to a multiple of llm.Bucket with mask 0 and type 0.
func TestBatchPadding(t *testing.T) {
	fs := []Feature{{IDs: []int{2, 7, 3, 8, 3}, TypeIDs: []int{0, 0, 0, 1, 1}, Start: 3, End: 3}, {IDs: []int{2, 9, 3}, TypeIDs: []int{0, 0, 0}}}
	b := Batch(fs, 0)
	if len(b.IDs) != 2 || len(b.IDs[0]) != llm.Bucket || b.Starts[0] != 3 || b.Ends[1] != 0 {
		t.Fatalf("batch %+v", b)
	}
	if b.Mask[1][2] != 1 || b.Mask[1][3] != 0 || b.IDs[1][3] != 0 || b.TypeIDs[0][4] != 1 || b.TypeIDs[0][5] != 0 {
		t.Errorf("padding wrong: mask %v ids %v types %v", b.Mask[1][:5], b.IDs[1][:5], b.TypeIDs[0][:6])
	}
}

// Read's span search (sum of logits) agrees with the pipeline's (product of softmaxes)
// and with the brute force over the window; the segments have the right type ids.
func TestReadAgreesWithPipeline(t *testing.T) {
	es := split(t, "test", 20)
	m := tinyQA(t, es)
	for _, e := range es[:8] {
		r, err := Read(m, e.Question, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		if r.Answer != r.Pipeline.Answer {
			t.Errorf("%s: BestSpan answer %q, pipeline %q", e.ID, r.Answer, r.Pipeline.Answer)
		}
		if !strings.Contains(e.Context, r.Answer) || r.Answer == "" {
			t.Errorf("%s: answer %q not in the context", e.ID, r.Answer)
		}
		q := utf8.RuneCountInString(e.Question)
		if r.Lo != q+2 || r.TypeIDs[r.Lo-1] != 0 || r.TypeIDs[r.Lo] != 1 || r.Tokens[0] != "[CLS]" || r.Tokens[r.Lo-1] != "[SEP]" {
			t.Errorf("%s: segments wrong: lo %d, tokens %v", e.ID, r.Lo, r.Tokens[:r.Lo+1])
		}
		if hs, _ := r.TokenTable(); len(hs) != 4 {
			t.Error("token table headers")
		}
		for _, c := range []interface{ Err() error }{r.TokensView(), r.LogitsView(), r.SpanView()} {
			if err := c.Err(); err != nil {
				t.Error(err)
			}
		}
	}
}

// A long context yields overlapping windows; the pipeline's answer is the best window's.
func TestReadLong(t *testing.T) {
	es := split(t, "long", 8)
	m := tinyQA(t, es)
	e := es[0] // the one with the shortest answer: it fits in a window of 64 tokens
	for _, x := range es {
		if utf8.RuneCountInString(x.Answers.Text[0]) < utf8.RuneCountInString(e.Answers.Text[0]) {
			e = x
		}
	}
	r, err := ReadLong(m, e, 64, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Windows) < 3 {
		t.Fatalf("%d windows for %d tokens", len(r.Windows), r.Tokens)
	}
	best, has := 0.0, 0
	for i, w := range r.Windows {
		if i > 0 && r.Windows[i-1].ContextEnd-w.ContextStart != 16 {
			t.Errorf("windows %d and %d share %d tokens, want 16", i-1, i, r.Windows[i-1].ContextEnd-w.ContextStart)
		}
		s := 0.0
		for _, p := range w.StartProbs {
			s += p
		}
		if s > 1+1e-6 || len(w.StartProbs) != w.ContextEnd-w.ContextStart {
			t.Errorf("window %d: start probabilities sum to %v over %d tokens", i, s, len(w.StartProbs))
		}
		best = max(best, w.Score)
		if w.HasAnswer {
			has++
		}
	}
	if has == 0 || r.Windows[len(r.Windows)-1].ContextEnd != r.Tokens {
		t.Errorf("%d windows hold the answer; last window ends at %d of %d", has, r.Windows[len(r.Windows)-1].ContextEnd, r.Tokens)
	}
	if math.Abs(r.Answer.Score-best) > 1e-9 {
		t.Errorf("pipeline score %v, best window %v", r.Answer.Score, best)
	}
	if err := r.View().Err(); err != nil {
		t.Error(err)
	}
}

// The checker: the stub is NotDone, the reference passes, the two classic mistakes fail
// with their hints.
func TestCheckBestSpan(t *testing.T) {
	stub := func(start, end []float64, maxLen int) (int, int) { return 0, 0 }
	if r := CheckBestSpan(stub); r.Status != exercise.NotDone {
		t.Errorf("stub: %v", r)
	}
	ref := func(start, end []float64, maxLen int) (int, int) {
		sp, _ := BestSpan(start, end, 0, len(start), maxLen)
		return sp.Start, sp.End
	}
	if r := CheckBestSpan(ref); !r.Passed() {
		t.Errorf("reference: %v", r)
	}
	argmax := func(start, end []float64, maxLen int) (int, int) {
		a, b := 0, 0
		for i := range start {
			if start[i] > start[a] {
				a = i
			}
			if end[i] > end[b] {
				b = i
			}
		}
		return a, b
	}
	if r := CheckBestSpan(argmax); r.Passed() || !strings.Contains(r.Hint, "argmax") {
		t.Errorf("independent argmax: %v", r)
	}
	noLimit := func(start, end []float64, maxLen int) (int, int) {
		sp, _ := BestSpan(start, end, 0, len(start), len(start))
		return sp.Start, sp.End
	}
	if r := CheckBestSpan(noLimit); r.Passed() || !strings.Contains(r.Hint, "maxLen") {
		t.Errorf("no length limit: %v", r)
	}
	panics := func(start, end []float64, maxLen int) (int, int) { panic("boom") }
	if r := CheckBestSpan(panics); r.Passed() {
		t.Error("a panicking answer passed")
	}
}

// A short training run is deterministic and lowers the loss.
func TestTrainDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model twice")
	}
	train, eval := split(t, "train", 64), split(t, "val", 8)
	var results []*TrainResult
	for range 2 {
		m := tinyQA(t, append(append([]data.QAExample{}, train...), eval...))
		r, err := Train(m, train, eval, Options{Epochs: 3, BatchSize: 16, LR: 3e-3})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	a, b := results[0], results[1]
	if a.Steps != 12 || a.TrainLoss != b.TrainLoss || a.Eval.F1 != b.Eval.F1 {
		t.Errorf("runs differ or wrong steps: %+v vs %+v", a, b)
	}
	if !(a.ValLoss[len(a.ValLoss)-1] < a.InitialValLoss) {
		t.Errorf("eval loss %v → %v did not fall", a.InitialValLoss, a.ValLoss)
	}
	if _, err := Train(tinyQA(t, train), train, eval, Options{LR: -1}); err == nil {
		t.Error("negative learning rate accepted")
	}
	if _, err := Train(tinyQA(t, train), nil, eval, Options{}); err == nil {
		t.Error("no training data accepted")
	}
}

// Padding is invisible: every prompt's next-token logits are the same in the padded batch
// and alone; the KV cache changes the speed, not the greedy text.
func TestPaddingAndCache(t *testing.T) {
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PadPrompts(m, []string{"磁盘", "处理步骤：1.", "告警：CPU 使用率"})
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxDiff > 1e-3 {
		t.Errorf("padded vs alone logits differ by %v", p.MaxDiff)
	}
	if p.Tokens[0][2] != "[PAD]" || p.Batch.Mask[0][2] != 0 || p.Batch.Mask[2][len(p.Batch.Mask[2])-1] != 1 {
		t.Errorf("padding: %v %v", p.Tokens[0], p.Batch.Mask)
	}
	runs, err := KVCache(m, "磁盘", 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Tokens != 8 || !runs[0].Cache || runs[1].Cache {
		t.Errorf("runs %+v", runs)
	}
	_, rows, bytes := CacheShapes(m.Config, 10)
	if len(rows) != m.Config.Layers || bytes != m.Config.Layers*2*10*m.Config.DModel*4 {
		t.Errorf("cache of %d bytes in %d rows", bytes, len(rows))
	}
	gs, err := Generations(m, "磁盘", 6)
	if err != nil || len(gs) != 4 {
		t.Fatal(err)
	}
	if gs[1].Text == gs[2].Text && gs[1].Text == gs[3].Text {
		t.Error("three sampled continuations are identical")
	}
}
