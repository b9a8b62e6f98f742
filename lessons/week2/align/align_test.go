package align

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm"
)

func gpt(t *testing.T) *llm.Model {
	t.Helper()
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAnswerLabelsByHand(t *testing.T) {
	ids := []int{10, 11, 12, 20, 21, 5}
	got := AnswerLabels(ids, 3)
	want := []int{Ignore, Ignore, 20, 21, 5, Ignore}
	if !equalInts(got, want) {
		t.Fatalf("AnswerLabels = %v, want %v", got, want)
	}
	if got := AnswerLabels([]int{7}, 1); !equalInts(got, []int{Ignore}) {
		t.Fatalf("one token: %v", got)
	}
}

func TestEncodeAddsEOSAndMasksPrompt(t *testing.T) {
	m := gpt(t)
	e, err := Encode(m.Tokenizer, "问：磁盘满了？答：", "先看日志。", 128)
	if err != nil {
		t.Fatal(err)
	}
	eos := m.Tokenizer.Specials().EOS
	if e.PromptLen != 9 || len(e.IDs) != 9+5+1 || e.IDs[len(e.IDs)-1] != eos {
		t.Fatalf("encoded %+v (eos %d)", e, eos)
	}
	n := 0
	for _, l := range e.Labels {
		if l != Ignore {
			n++
		}
	}
	if n != 6 || e.Labels[8] != e.IDs[9] {
		t.Fatalf("%d labelled positions (want the 5 answer tokens + EOS), labels %v", n, e.Labels)
	}
	for _, bad := range []struct{ p, a string }{{"", "x"}, {"问：x答：", ""}} {
		if _, err := Encode(m.Tokenizer, bad.p, bad.a, 128); err == nil {
			t.Fatalf("Encode(%q, %q) accepted", bad.p, bad.a)
		}
	}
	if _, err := Encode(m.Tokenizer, "问：磁盘满了？答：", "先看日志。", 10); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Fatalf("too long: %v", err)
	}
}

// The answer-only loss llm's CausalLM objective computes equals the plain-Go mean of
// −log softmax over the answer positions, from the forward pass's logits.
func TestMaskedLossMatchesPlainGo(t *testing.T) {
	m := gpt(t)
	es := []Example{
		{"问：web-01 磁盘满了，怎么处理？答：", "先用 df -h 确认分区。"},
		{"问：CPU 打满了？答：", "先用 top 找出最忙的进程，保存线程栈。"},
	}
	enc, err := EncodeExamples(m, es, 0)
	if err != nil {
		t.Fatal(err)
	}
	tb := Batch(enc, m.Config.PadID, m.Config.MaxPos)
	ev, err := m.EvaluateBatches(llm.CausalLM, []*llm.TrainBatch{tb}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(tb.Batch, llm.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, count := 0.0, 0
	for i := range tb.IDs {
		logits := make([][]float32, len(tb.IDs[i]))
		for t := range logits {
			logits[t] = out.Logits.Row(i, t)
		}
		l, n := MaskedNLL(logits, tb.Labels[i])
		sum += l * float64(n)
		count += n
	}
	want := sum / float64(count)
	wantCount := 0
	for _, e := range enc {
		wantCount += len(e.IDs) - e.PromptLen // answer tokens + EOS
	}
	if count != wantCount || ev.Tokens != count || math.Abs(ev.Loss-want) > 1e-4 {
		t.Fatalf("llm loss %.6f over %d tokens, plain Go %.6f over %d (want %d)", ev.Loss, ev.Tokens, want, count, wantCount)
	}
	// The shipped model has never seen 问…答 ops answers: the loss is high, not ~0.
	if want < 1 {
		t.Fatalf("answer loss %.3f before SFT is implausibly low", want)
	}
}

func TestDPOLossByHand(t *testing.T) {
	// margin 0 → ln 2; β·Δ = 0.1·((−10+12) − (−25+20)) = 0.7 → log(1+e^−0.7).
	if l, m := DPOLoss(0.1, -12, -20, -12, -20); math.Abs(l-math.Ln2) > 1e-12 || m != 0 {
		t.Fatalf("DPOLoss at the reference = %v, %v", l, m)
	}
	if l, m := DPOLoss(0.1, -10, -25, -12, -20); math.Abs(m-0.7) > 1e-12 || math.Abs(l-math.Log(1+math.Exp(-0.7))) > 1e-12 {
		t.Fatalf("DPOLoss = %v, margin %v", l, m)
	}
	if l, _ := DPOLoss(1, -1000, 0, 0, 0); math.Abs(l-1000) > 1e-9 {
		t.Fatalf("margin −1000: %v", l)
	}
	if l, _ := DPOLoss(1, 0, -1000, 0, 0); l < 0 || l > 1e-300 {
		t.Fatalf("margin +1000: %v", l)
	}
}

// llm's DPO objective on a real pair equals DPOLoss on the summed log-probabilities of the
// plain forward pass (made-up reference log-probs, so the margin is not 0).
func TestDPOObjectiveMatchesHand(t *testing.T) {
	m := gpt(t)
	pairs, err := EncodePairs(m, []Pair{
		{"问：磁盘满了，怎么处理？答：", "先用 df -h 确认分区。", "先观察一下。"},
		{"问：inode 用完了？答：", "先执行 df -i。", "直接 rm -rf 整个目录。"},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tb := PairBatch(pairs, m.Config.PadID, m.Config.MaxPos)
	lp, err := SeqLogProbs(m, tb)
	if err != nil {
		t.Fatal(err)
	}
	ref := []float64{lp[0] + 1.5, lp[1] - 2, lp[2] - 0.5, lp[3] + 3}
	tb.RefLogProbs = ref
	const beta = 0.3
	ev, err := m.EvaluateBatches(llm.DPO, []*llm.TrainBatch{tb}, beta)
	if err != nil {
		t.Fatal(err)
	}
	l0, m0 := DPOLoss(beta, lp[0], lp[1], ref[0], ref[1])
	l1, m1 := DPOLoss(beta, lp[2], lp[3], ref[2], ref[3])
	if math.Abs(ev.Loss-(l0+l1)/2) > 1e-4 || math.Abs(ev.Margin-(m0+m1)/2) > 1e-4 || ev.Tokens != 2 {
		t.Fatalf("llm DPO loss %.6f margin %.6f, by hand %.6f %.6f", ev.Loss, ev.Margin, (l0+l1)/2, (m0+m1)/2)
	}
	// Reference = policy: the margin is 0 and the loss ln 2.
	if err := RefLogProbs(m, pairs, 1); err != nil {
		t.Fatal(err)
	}
	ev, err = m.EvaluateBatches(llm.DPO, []*llm.TrainBatch{PairBatch(pairs, m.Config.PadID, m.Config.MaxPos)}, beta)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Loss-math.Ln2) > 1e-4 || math.Abs(ev.Margin) > 1e-4 {
		t.Fatalf("policy = reference: loss %.6f margin %.6f, want ln 2 and 0", ev.Loss, ev.Margin)
	}
}

// A tiny SFT run lowers the answer loss on held-out questions; a tiny DPO run after it
// raises the held-out margin from 0.
func TestTinySFTThenDPO(t *testing.T) {
	train, held, err := SFTData()
	if err != nil {
		t.Fatal(err)
	}
	m := gpt(t)
	rep, err := TrainSFT(m, train[:96], held[:16], Options{Epochs: 1, BatchSize: 16, LR: 2e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps != 6 || len(rep.Curve.Loss) != 6 || rep.Curve.EvalSteps[0] != 0 {
		t.Fatalf("report %+v", rep)
	}
	if !(rep.EvalLossAfter < rep.EvalLossBefore-0.5) {
		t.Fatalf("held-out answer loss %.3f → %.3f, want it lower by > 0.5", rep.EvalLossBefore, rep.EvalLossAfter)
	}
	check, err := AnswerLoss(m, held[:16])
	if err != nil || math.Abs(check-rep.EvalLossAfter) > 1e-4 {
		t.Fatalf("AnswerLoss %.5f (%v), report %.5f", check, err, rep.EvalLossAfter)
	}
	pt, ph, err := DPOData()
	if err != nil {
		t.Fatal(err)
	}
	d, err := TrainDPO(m, pt[:16], ph[:8], Options{Epochs: 2, BatchSize: 4, LR: 1e-3, Beta: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.EvalMarginBefore) > 1e-4 || math.Abs(d.EvalLossBefore-math.Ln2) > 1e-4 {
		t.Fatalf("DPO starts at margin %.5f loss %.5f, want 0 and ln 2", d.EvalMarginBefore, d.EvalLossBefore)
	}
	if !(d.EvalMarginAfter > 0.05) || len(d.Curve.Margin) != d.Steps {
		t.Fatalf("DPO held-out margin %.4f after %d steps, want > 0.05", d.EvalMarginAfter, d.Steps)
	}
}

func TestReadersRejectHostileInput(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "no examples"},
		{"\n\n", "no examples"},
		{`{"question":"a"`, "line 1: not a JSON object"},
		{`{"question":"a","answer":"b"} {"x":1}`, "more than one JSON value"},
		{`{"question":"a","answer":""}`, `empty "answer"`},
		{`{"answer":"b"}`, `missing "question"`},
		{`{"question":"a","prompt":"p","answer":"b"}`, "not both"},
		{`{"question":1,"answer":"b"}`, "not a JSON object"},
		{"{\"question\":\"a\",\"answer\":\"b\"}\n{\"question\":\"" + strings.Repeat("x", 2<<20) + "\"}", "line 2 is longer than 1 MB"},
	} {
		if _, err := ReadExamples(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadExamples(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	es, err := ReadExamples(strings.NewReader(`{"id":"x","question":"磁盘满了？","answer":"先看。","kind":"disk"}` + "\n\n" + `{"prompt":"P","answer":"A"}`))
	if err != nil || len(es) != 2 || es[0].Prompt != "问：磁盘满了？答：" || es[1].Prompt != "P" {
		t.Fatalf("ReadExamples = %+v, %v", es, err)
	}
	for _, c := range []struct{ in, want string }{
		{`{"prompt":"p","chosen":"a"}`, `missing "rejected"`},
		{`{"prompt":"p","chosen":"a","rejected":"a"}`, "equals"},
		{`{"chosen":"a","rejected":"b"}`, `missing "question"`},
	} {
		if _, err := ReadPairs(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadPairs(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestCheckAnswerLabels(t *testing.T) {
	if r := CheckAnswerLabels(func([]int, int) []int { return nil }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %v", r)
	}
	if r := CheckAnswerLabels(func(ids []int, p int) []int { return AnswerLabels(ids, p) }); !r.Passed() {
		t.Fatalf("reference: %v", r)
	}
	wrong := map[string]func(ids []int, p int) []int{
		"not shifted": func(ids []int, p int) []int {
			out := make([]int, len(ids))
			for t := range ids {
				out[t] = Ignore
				if t >= p {
					out[t] = ids[t]
				}
			}
			return out
		},
		"not masked": func(ids []int, p int) []int { return AnswerLabels(ids, 0) },
		"off by one": func(ids []int, p int) []int { return AnswerLabels(ids, p+1) },
	}
	for name, f := range wrong {
		r := CheckAnswerLabels(f)
		if r.Status != exercise.Failed || !strings.Contains(r.Hint, "(") {
			t.Fatalf("%s: %v", name, r)
		}
		if !strings.Contains(r.Hint, name) {
			t.Errorf("%s: hint %q does not name the mistake", name, r.Hint)
		}
	}
}

func TestCheckDPOLoss(t *testing.T) {
	if r := CheckDPOLoss(func(_, _, _, _, _ float64) float64 { return 0 }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %v", r)
	}
	if r := CheckDPOLoss(func(b, pw, pl, rw, rl float64) float64 { l, _ := DPOLoss(b, pw, pl, rw, rl); return l }); !r.Passed() {
		t.Fatalf("reference: %v", r)
	}
	naive := func(b, pw, pl, rw, rl float64) float64 {
		m := b * ((pw - rw) - (pl - rl))
		return math.Log(1 + math.Exp(-m))
	}
	if r := CheckDPOLoss(naive); r.Status != exercise.Failed || !strings.Contains(r.Hint, "overflow") {
		t.Fatalf("naive: %v", r)
	}
	noRef := func(b, pw, pl, rw, rl float64) float64 { l, _ := DPOLoss(b, pw, pl, 0, 0); return l }
	if r := CheckDPOLoss(noRef); r.Status != exercise.Failed || !strings.Contains(r.Hint, "reference") {
		t.Fatalf("no reference: %v", r)
	}
	noBeta := func(b, pw, pl, rw, rl float64) float64 { l, _ := DPOLoss(1, pw, pl, rw, rl); return l }
	if r := CheckDPOLoss(noBeta); r.Status != exercise.Failed || !strings.Contains(r.Hint, "β") {
		t.Fatalf("no beta: %v", r)
	}
}

func TestFigures(t *testing.T) {
	d := RLHFDiagram()
	if d.Err() != nil || !strings.Contains(d.SVG(), "奖励模型") || !strings.Contains(d.SVG(), "DPO") || strings.Count(d.SVG(), "<svg") != 1 {
		t.Fatalf("diagram: %v", d.Err())
	}
	c := LineChart("t", "x", "y", Line{Name: "a", X: []float64{1, 2, 3}, Y: []float64{3, math.NaN(), 1}})
	if c.Err() != nil || !strings.Contains(c.SVG(), "<polyline") {
		t.Fatalf("chart: %v", c.Err())
	}
	if c := LineChart("t", "x", "y", Line{Name: "a", X: []float64{1}, Y: []float64{1, 2}}); c.Err() == nil {
		t.Fatal("mismatched series accepted")
	}
	if c := LineChart("t", "x", "y", Line{Name: "a", X: []float64{1}, Y: []float64{math.NaN()}}); c.Err() == nil {
		t.Fatal("no points accepted")
	}
	if got := niceTicks(0, 3.9, 6); got[0] != 0 || got[len(got)-1] < 3.9 || len(got) > 10 {
		t.Fatalf("ticks %v", got)
	}
}

// Judge and DPORows read the DPO held-out answers by the SFT test split's index.
func TestHeldOutQuestionsAlign(t *testing.T) {
	_, sh, err := SFTData()
	if err != nil {
		t.Fatal(err)
	}
	_, dh, err := DPOData()
	if err != nil {
		t.Fatal(err)
	}
	if len(sh) != len(dh) {
		t.Fatalf("%d SFT and %d DPO held-out questions", len(sh), len(dh))
	}
	for i := range sh {
		if sh[i].Prompt != dh[i].Prompt {
			t.Fatalf("held-out %d: %q vs %q", i, sh[i].Prompt, dh[i].Prompt)
		}
	}
	// Judge: the reference answer is right, a sloppy demonstration is a bad habit.
	answers := make([]string, len(sh))
	answers[0] = sh[0].Answer
	pairs, _ := data.DPO("train")
	for _, p := range pairs {
		if p.RejectedKind == "vague" {
			answers[1] = p.Rejected
		}
	}
	answers[3] = sh[0].Answer // the reference of another question
	vs, err := Judge(answers)
	if err != nil || vs[0] != Right || vs[1] != Sloppy || vs[2] != Other || vs[3] != Swapped || answers[1] == "" {
		t.Fatalf("Judge = %v, %v", vs[:4], err)
	}
	if _, err := Judge(answers[:3]); err == nil {
		t.Fatal("Judge accepted 3 answers for 80 questions")
	}
}

// A run's cache key changes with every input it hashes and with nothing else; a cached run
// is read back without training.
func TestCacheKeyAndReload(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+lessons.Module+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIVELLM_ROOT", root)
	base := filepath.Join(root, "base")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(b string) {
		if err := os.WriteFile(filepath.Join(base, "model.safetensors"), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("weights-1")
	k1, _ := key("sft", base, []Example{{"p", "a"}}, 4, 1e-3)
	k2, _ := key("sft", base, []Example{{"p", "a"}}, 4, 1e-3)
	k3, _ := key("sft", base, []Example{{"p", "b"}}, 4, 1e-3)
	k4, _ := key("sft", base, []Example{{"p", "a"}}, 5, 1e-3)
	k5, _ := key("dpo", base, []Example{{"p", "a"}}, 4, 1e-3)
	write("weights-2")
	k6, _ := key("sft", base, []Example{{"p", "a"}}, 4, 1e-3)
	if k1 != k2 || k1 == k3 || k1 == k4 || k1 == k5 || k1 == k6 || !strings.HasPrefix(k1, "sft-") {
		t.Fatalf("keys %s %s %s %s %s %s", k1, k2, k3, k4, k5, k6)
	}
	if _, err := key("sft", filepath.Join(root, "missing")); err == nil {
		t.Fatal("a base without weights gave a key")
	}
	trained := 0
	train := func(dir string) (*Run, error) {
		trained++
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return &Run{Questions: []string{"q"}, After: []string{"a"}}, os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("w"), 0o644)
	}
	noShipped := func(string, *Shipped) (*Run, error) { t.Fatal("no shipped model here"); return nil, nil }
	r1, err := cached(k1, base, "no-such-model", noShipped, train)
	if err != nil || r1.Cached || trained != 1 {
		t.Fatalf("first run: %+v %v (trained %d)", r1, err, trained)
	}
	r2, err := cached(k1, base, "no-such-model", noShipped, train)
	if err != nil || !r2.Cached || trained != 1 || r2.Dir != r1.Dir || r2.After[0] != "a" || r2.Base != base {
		t.Fatalf("second run: %+v %v (trained %d)", r2, err, trained)
	}
	if filepath.Dir(r1.Dir) != filepath.Join(root, ".cache", "week2", "align") {
		t.Fatalf("cache dir %s", r1.Dir)
	}
}
