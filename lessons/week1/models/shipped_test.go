package models

import (
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
)

// shipped loads a pretrained model from models/, or skips the test when it is not built.
func shipped(t *testing.T, name string) *llm.Model {
	t.Helper()
	if _, err := lessons.ModelDir(name); err != nil {
		t.Skipf("model-quality check skipped: %s is not built yet (run `make models`): %v", name, err)
	}
	m, err := lessons.LoadModel(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// What the notebook shows about the shipped GPT must hold: related characters cluster,
// 钓鱼 finds a head that looks at 银行 well above chance, and the plain-Go head matches.
// gpt-tiny-zh (800 steps, val loss 1.19) gives a within/between spread of 0.31 and a
// 钓鱼→银行 head at 0.72.
func TestShippedGPT(t *testing.T) {
	m := shipped(t, lessons.GPTTinyZH)
	em, err := EmbeddingMap(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := em.GroupSpread(); !(s < 0.8) {
		t.Errorf("embedding groups do not cluster: within/between distance %.2f", s)
	}
	best, all, err := FindHead(m, week1.StorySentence, "钓鱼", "银行")
	if err != nil {
		t.Fatal(err)
	}
	// Uniform causal attention from 钓(6), 鱼(7) onto 银行 would be (2/7 + 2/8)/2 ≈ 0.27.
	if best.Weight < 0.35 || best.Weight <= all[len(all)-1].Weight {
		t.Errorf("no head of the shipped GPT links 钓鱼 to 银行: best %+v", best)
	}
	w, err := StepThroughModel(m, week1.StorySentence, best.Layer, best.Head)
	if err != nil {
		t.Fatal(err)
	}
	if w.MaxDiff > 1e-4 {
		t.Errorf("plain Go differs from the model by %g", w.MaxDiff)
	}
	// A decoder's 银行 cannot see what follows it: identical in both sentences.
	shift, err := ContextShift(m, "我昨天去银行钓鱼", "我昨天去银行取钱", "银行")
	if err != nil {
		t.Fatal(err)
	}
	for l, c := range shift {
		if c < 1-1e-5 {
			t.Errorf("GPT layer %d: 银行 changed with the text after it (cos %g)", l, c)
		}
	}
}

// What the notebook shows about the shipped BERT must hold. The thresholds sit well below
// what bert-tiny-zh (2,500 steps, val loss 1.67) reaches — top-1 0.56, top-5 0.68, a
// 银行→钓鱼 head at 0.54, a self/previous-token head at 8.6× its baseline — so they catch a
// broken or undertrained model, not noise.
func TestShippedBERT(t *testing.T) {
	m := shipped(t, lessons.BERTTinyZH)
	r, err := ProbeAccuracy(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probes: top-1 %.2f, top-5 %.2f over %d", r.Top1, r.Top5, r.N)
	if r.Top1 < 0.35 || r.Top5 < 0.5 {
		t.Errorf("the shipped BERT answers %.0f%% of the probes first and %.0f%% within 5 candidates", 100*r.Top1, 100*r.Top5)
	}
	fills, err := FillMask(m, week1.MLMSentence, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fills[0].Prob < 10.0/float64(m.Config.VocabSize) {
		t.Errorf("fill-mask is no better than chance: %+v", fills)
	}
	// Uniform attention from 银行 onto 钓鱼 over [CLS] 我昨天去银行钓鱼 [SEP] would be 2/10.
	best, _, err := FindHead(m, week1.StorySentence, "银行", "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	if best.Weight < 0.3 {
		t.Errorf("no head of the shipped BERT links 银行 to 钓鱼: best %+v", best)
	}
	am, err := AttentionFor(m, "小王昨天去银行取钱，今天又去河边钓鱼，晚上回家做饭。")
	if err != nil {
		t.Fatal(err)
	}
	hr, err := week1.HeadReport(am, "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	if hr.Top[0].Lift() < 3 {
		t.Errorf("no head of the shipped BERT stands out: %+v", hr.Top)
	}
	// 银行 takes in what follows it in BERT, not in GPT.
	shift, err := ContextShift(m, "我昨天去银行钓鱼", "我昨天去银行取钱", "银行")
	if err != nil {
		t.Fatal(err)
	}
	// The notebook says the change is small (both 银行 are the same bank) but real.
	if last := shift[len(shift)-1]; last > 0.995 || last < 0.95 {
		t.Errorf("BERT's 银行: last-layer cos %v, the notebook calls it a small change", shift)
	}
	// The open question's solution: the most remarkable head copies each token (self).
	am2, err := AttentionFor(m, week1.LongSentence)
	if err != nil {
		t.Fatal(err)
	}
	hr2, err := week1.HeadReport(am2, "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	if r := week1.RevealPattern(week1.PatternSelf, hr2); !r.Passed() {
		t.Errorf("the solution notebook's prediction no longer holds:\n%s", r)
	}
}
