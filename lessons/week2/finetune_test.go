package week2

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
)

const tinyBERT = "../../testdata/hf/tiny-bert"

// tinyTask is a three-class task the tiny-bert fixture can learn: the class is one
// character (its vocabulary has these), with labels of its own (the fixture's classifier
// head is replaced by a fresh one over these labels, after its head is removed).
func tinyTask() (train, eval []Example) {
	subj := []string{"我", "你", "他", "她", "我们"}
	obj := []string{"猫", "狗", "花", "茶", "书"}
	cls := []struct{ word, label string }{{"不", "neg"}, {"看", "neutral"}, {"爱", "pos"}}
	for i, s := range subj {
		for j, o := range obj {
			for _, c := range cls {
				e := Example{Text: s + c.word + o, Label: c.label}
				if (i+j)%5 == 0 {
					eval = append(eval, e)
				} else {
					train = append(train, e)
				}
			}
		}
	}
	return train, eval
}

// loadBare loads the fixture without its classifier head, as a pretrained encoder.
func loadBare(t *testing.T) *llm.Model {
	t.Helper()
	m, err := llm.Load(tinyBERT)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Weights.Names() {
		if strings.HasPrefix(n, "classifier.") {
			m.Weights.Delete(n)
		}
	}
	m.Config.NumLabels, m.Config.ID2Label = 0, nil
	if m.Heads().Classifier {
		t.Fatal("classifier still there")
	}
	return m
}

func TestFineTuneLearnsAndExports(t *testing.T) {
	train, eval := tinyTask()
	m := loadBare(t)
	var steps []Step
	run, err := FineTune(m, train, eval, Options{Epochs: 40, BatchSize: 8, LR: 5e-3, Seed: 3, EvalEvery: 50,
		Progress: func(s Step) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(run.Labels, []string{"neg", "neutral", "pos"}) {
		t.Errorf("labels %v (want first appearance)", run.Labels)
	}
	if want := (40*len(train) + 7) / 8; run.Steps != want || len(steps) != want {
		t.Errorf("%d steps reported, %d run, want %d", len(steps), run.Steps, want)
	}
	if run.Eval.Accuracy < 0.9 || run.Trainable != run.Params {
		t.Errorf("eval accuracy %.3f, trainable %d of %d", run.Eval.Accuracy, run.Trainable, run.Params)
	}
	last := steps[len(steps)-1]
	if math.IsNaN(last.EvalAccuracy) || last.EvalAccuracy != run.Eval.Accuracy || !math.IsNaN(steps[0].EvalAccuracy) {
		t.Errorf("evaluations: first %v, last %v", steps[0].EvalAccuracy, last.EvalAccuracy)
	}
	// Export, reload: the same predictions, the labels in config.json.
	dir := filepath.Join(t.TempDir(), "out")
	if err := run.Export(dir, "tiny-bert", map[string][]byte{"note.json": []byte("{}\n")}); err != nil {
		t.Fatal(err)
	}
	back, err := llm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ModelLabels(back), run.Labels) {
		t.Errorf("reloaded labels %v", ModelLabels(back))
	}
	p1, _ := Predict(m, texts(eval), 64)
	p2, err := Predict(back, texts(eval), 64)
	if err != nil || !slices.Equal(p1, p2) {
		t.Errorf("reloaded predictions differ: %v vs %v (%v)", p1, p2, err)
	}
	met, err := EvaluateModel(back, eval, 64)
	if err != nil || met.Accuracy != run.Eval.Accuracy {
		t.Errorf("reloaded accuracy %v (%v), want %v", met.Accuracy, err, run.Eval.Accuracy)
	}
	if _, err := os.Stat(filepath.Join(dir, "note.json")); err != nil {
		t.Error("extra file not written")
	}
	// Continuing on a model that has a classifier keeps its labels; other labels are refused.
	if _, err := FineTune(back, train, eval, Options{Epochs: 1, Labels: []string{"pos", "neg", "neutral"}}); err == nil {
		t.Error("relabelling an existing classifier accepted")
	}
}

func TestFineTuneLoRAMergeAndAdapter(t *testing.T) {
	train, eval := tinyTask()
	m := loadBare(t)
	run, err := FineTune(m, train, eval, Options{Epochs: 3, BatchSize: 8, LoRARank: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if run.LoRA == nil || run.LoRA.Rank != 2 || run.LoRA.Alpha != 4 || run.Trainable >= run.Params/4 {
		t.Fatalf("LoRA run: %+v, %d of %d trainable", run.LoRA, run.Trainable, run.Params)
	}
	before, err := Probs(m, texts(eval), 64) // adapters beside the weights
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lora")
	if err := run.Export(dir, "tiny-bert", nil); err != nil {
		t.Fatal(err)
	}
	merged, err := llm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Probs(merged, texts(eval), 64)
	base := loadBare(t)
	if err := base.LoadAdapter(dir); err != nil {
		t.Fatal(err)
	}
	adapted, _ := Probs(base, texts(eval), 64)
	for i := range before {
		for j := range before[i] {
			if d := math.Abs(before[i][j] - after[i][j]); d > 1e-5 {
				t.Fatalf("merged differs from trained by %g", d)
			}
			if d := math.Abs(adapted[i][j] - after[i][j]); d > 1e-5 {
				t.Fatalf("base+adapter file differs from merged by %g", d)
			}
		}
	}
	// MergeCheck on the hard alerts (mostly [UNK] for this vocabulary): the same function.
	d, err := MergeCheck(base, merged)
	if err != nil {
		t.Fatal(err)
	}
	if d > 1e-5 {
		t.Errorf("MergeCheck %g", d)
	}
	if _, err := MergeCheck(merged, base); err == nil {
		t.Error("MergeCheck accepted a model without adapters as the unmerged one")
	}
}

func TestFineTuneRefusals(t *testing.T) {
	train, eval := tinyTask()
	m := loadBare(t)
	for _, c := range []struct {
		name string
		o    Options
		tr   []Example
		ev   []Example
	}{
		{"no training examples", Options{}, nil, eval},
		{"no eval examples", Options{}, train, nil},
		{"unknown eval label", Options{}, train, []Example{{"我爱猫", "surprise"}}},
		{"one class", Options{}, []Example{{"我爱猫", "pos"}}, []Example{{"我爱猫", "pos"}}},
		{"NaN lr", Options{LR: math.NaN()}, train, eval},
		{"negative epochs", Options{Epochs: -1}, train, eval},
		{"max length beyond positions", Options{MaxLen: 65}, train, eval},
		{"freeze with LoRA", Options{LoRARank: 2, FreezeLayers: 1}, train, eval},
		{"freeze beyond the blocks", Options{FreezeLayers: 3}, train, eval},
		{"all-linear without rank", Options{LoRAAll: true}, train, eval},
		{"duplicate label", Options{Labels: []string{"neg", "neg", "pos"}}, train, eval},
	} {
		if _, err := FineTune(m, c.tr, c.ev, c.o); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if m.Heads().Classifier || m.LoRA != nil {
		t.Error("a refused run changed the model")
	}
}

func TestFreezeLayersTrainsOnlyTheTop(t *testing.T) {
	train, eval := tinyTask()
	m := loadBare(t)
	emb, _ := m.Weights.Float32("bert.embeddings.word_embeddings.weight")
	run, err := FineTune(m, train, eval, Options{Epochs: 2, BatchSize: 8, FreezeLayers: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := m.Weights.Float32("bert.embeddings.word_embeddings.weight")
	if !slices.Equal(emb, after) {
		t.Error("frozen embeddings changed")
	}
	if run.Trainable >= run.Params || run.Trainable == 0 {
		t.Errorf("%d of %d trainable", run.Trainable, run.Params)
	}
}

func TestShuffleSourceGroupsAndCovers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var seqs [][]int
	var cls []int
	for i := range 100 {
		n := 3 + r.IntN(90)
		s := make([]int, n)
		for j := range s {
			s[j] = 5 + i
		}
		seqs, cls = append(seqs, s), append(cls, i%3)
	}
	src := &shuffleSource{seqs: seqs, classes: cls, bs: 10, maxN: longest(seqs), pad: 0, r: rand.New(rand.NewPCG(2, 2))}
	seen := map[int]int{}
	// 40 batches = 5 groups of 8 batches = 400 examples = 4 permutations: every example
	// exactly 4 times (a group may straddle two permutations).
	for range 40 {
		b, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		n := len(b.IDs[0])
		if n%lengthBucket != 0 && n != src.maxN {
			t.Errorf("batch length %d is not a multiple of %d", n, lengthBucket)
		}
		for r, row := range b.IDs {
			ex := row[0] - 5
			seen[ex]++
			if b.Classes[r] != cls[ex] || len(row) != n || len(seqs[ex]) > n {
				t.Fatalf("row %d: example %d of class %d, batch class %d, length %d > %d", r, ex, cls[ex], b.Classes[r], len(seqs[ex]), n)
			}
			for j, v := range row {
				if want := j < len(seqs[ex]); (b.Mask[r][j] == 1) != want || (want && v != ex+5) || (!want && v != 0) {
					t.Fatalf("row %d position %d: id %d mask %d", r, j, v, b.Mask[r][j])
				}
			}
		}
	}
	for i := range 100 {
		if seen[i] != 4 {
			t.Errorf("example %d drawn %d times in 4 epochs", i, seen[i])
		}
	}
}

func TestAugmentKeepsTheCause(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	text := "2026-12-20T02:20:36+08:00 bj-db-90 pay-core: 磁盘使用率 97%，/var/lib/mysql 剩余 1.2GB，请尽快处理"
	seenPrefixDropped, seenShuffled := false, false
	for range 50 {
		a := Augment(text, r)
		if !strings.Contains(a, "磁盘使用率 97%") || !strings.Contains(a, "/var/lib/mysql 剩余 1.2GB") {
			t.Fatalf("augmented %q lost the cause", a)
		}
		if !strings.Contains(a, "bj-db-90") {
			seenPrefixDropped = true
		}
		if strings.Index(a, "请尽快处理") < strings.Index(a, "磁盘") {
			seenShuffled = true
		}
	}
	if !seenPrefixDropped || !seenShuffled {
		t.Errorf("prefix dropped %v, clauses shuffled %v in 50 draws", seenPrefixDropped, seenShuffled)
	}
	a1 := Augment(text, rand.New(rand.NewPCG(7, 7)))
	a2 := Augment(text, rand.New(rand.NewPCG(7, 7)))
	if a1 != a2 {
		t.Error("not deterministic for a seed")
	}
	if got := Augment("无前缀", r); got != "无前缀" {
		t.Errorf("short text changed: %q", got)
	}
}

func TestCompareAttentionSelf(t *testing.T) {
	m, err := llm.Load(tinyBERT)
	if err != nil {
		t.Fatal(err)
	}
	s, err := CompareAttention(m, m, "我爱北京")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tokens) != 6 || len(s.CLSShift) != m.Config.Layers {
		t.Fatalf("tokens %v, %d layers", s.Tokens, len(s.CLSShift))
	}
	for l, d := range s.CLSShift {
		if d != 0 {
			t.Errorf("layer %d: a model against itself shifted by %g", l, d)
		}
		sum := 0.0
		for _, v := range s.Before[l][0] {
			sum += v
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("layer %d: the [CLS] row sums to %g", l, sum)
		}
	}
	// Against another model the shift is the hand-computed ½ Σ |a − b|.
	other := loadBare(t)
	if err := other.AddClassifier([]string{"a", "b"}, 1); err != nil {
		t.Fatal(err)
	}
	w, _ := other.Weights.Float32("bert.encoder.layer.1.attention.self.query.weight")
	for i := range w {
		w[i] *= 3
	}
	other.Weights.Set("bert.encoder.layer.1.attention.self.query.weight", other.Weights.Shape("bert.encoder.layer.1.attention.self.query.weight"), w)
	s2, err := CompareAttention(m, other, "我爱北京")
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for k := range s2.Before[1][0] {
		want += math.Abs(s2.After[1][0][k]-s2.Before[1][0][k]) / 2
	}
	if s2.CLSShift[1] <= 0 || math.Abs(s2.CLSShift[1]-want) > 1e-12 || s2.CLSShift[0] != 0 {
		t.Errorf("shift %v, want layer 0 unchanged and layer 1 = %g", s2.CLSShift, want)
	}
	if _, rows, _ := ShiftTable(s2); len(rows) != m.Config.Layers+2 {
		t.Errorf("shift table has %d rows", len(rows))
	}
}

func TestCurveRecipes(t *testing.T) {
	if CurveRecipe(Pretrained, 1) != FullRecipe() {
		t.Error("the 100% pretrained point is not the full recipe")
	}
	train, _ := AlertExamples("train")
	for _, f := range CurveFractions {
		r := CurveRecipe(Scratch, f)
		n := len(Subsample(train, f, Seed))
		steps := (r.Epochs*n + r.BatchSize - 1) / r.BatchSize
		fewer := ((r.Epochs-1)*n + r.BatchSize - 1) / r.BatchSize
		if steps < minCurveSteps || (r.Epochs > FullEpochs && fewer >= minCurveSteps) {
			t.Errorf("fraction %g: %d examples × %d epochs = %d steps", f, n, r.Epochs, steps)
		}
		if err := r.check(); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []Recipe{{Init: "warm", Fraction: 1, Epochs: 1, LR: 1, BatchSize: 1, MaxLen: 8}, {Init: Scratch, Fraction: 0, Epochs: 1, LR: 1, BatchSize: 1, MaxLen: 8}} {
		if _, err := Train(bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestCacheHelpers(t *testing.T) {
	if cacheKey("k", []byte("ab"), []byte("c")) == cacheKey("k", []byte("a"), []byte("bc")) {
		t.Error("cache keys collide across part boundaries")
	}
	p := filepath.Join(t.TempDir(), "sub", "x.json")
	if err := writeJSONAtomic(p, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := readJSON(p, &v); err != nil || v["a"] != 1 {
		t.Errorf("round trip %v, %v", v, err)
	}
	tmp := t.TempDir()
	t.Setenv("DIVELLM_CACHE", tmp)
	if d, _ := CacheDir(); d != filepath.Join(tmp, "week2") {
		t.Errorf("CacheDir %s", d)
	}
}
