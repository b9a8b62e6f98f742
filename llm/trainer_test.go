package llm

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/sample"
)

// sliceSource cycles through fixed batches.
type sliceSource struct {
	b []*TrainBatch
	i int
}

func (s *sliceSource) Next() (*TrainBatch, error) {
	tb := s.b[s.i%len(s.b)]
	s.i++
	return tb, nil
}

func TestRunInChunksEqualsOneRun(t *testing.T) {
	tok, train, val := sampleStreams(t)
	run := func(chunks []int) []float64 {
		m := tinyTrainGPT(t, tok.VocabSize())
		m.Tokenizer = tok
		src, err := m.NewLMSource(train, 8, 32, 0, 4)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := m.LMEvalBatches(val, 8, 32, 0, 4, 2)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(TrainConfig{Steps: 9, Seed: 4, EvalEvery: 3, BatchSize: 8, SeqLen: 32}, src, vb)
		if err != nil {
			t.Fatal(err)
		}
		var res *TrainResult
		for _, n := range chunks {
			if res, err = tr.Run(context.Background(), n); err != nil {
				t.Fatal(err)
			}
		}
		if !tr.Done() || res.Steps != 9 {
			t.Fatalf("after chunks %v: %d steps, done=%v", chunks, res.Steps, tr.Done())
		}
		// The model's weights are the trainer's: a forward pass sees the trained model.
		ev, err := m.EvaluateBatches(CausalLM, vb, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(ev.Loss-res.ValLoss) > 1e-5 {
			t.Fatalf("model evaluation %.6f, trainer's %.6f", ev.Loss, res.ValLoss)
		}
		return append(res.Losses, res.ValLoss)
	}
	one, chunked := run([]int{9}), run([]int{2, 4, 3})
	for i := range one {
		if one[i] != chunked[i] {
			t.Fatalf("chunked run differs at %d: %v vs %v", i, chunked, one)
		}
	}
}

// randomBatch builds a padded batch of random ids with the given lengths.
func randomBatch(r *rand.Rand, vocab int, lens []int) Batch {
	var seqs [][]int
	for _, n := range lens {
		s := make([]int, n)
		for i := range s {
			s[i] = 1 + r.IntN(vocab-1)
		}
		seqs = append(seqs, s)
	}
	return PadBatch(seqs, 0)
}

func TestClassificationObjectiveMatchesHandLoss(t *testing.T) {
	for _, arch := range []Arch{BERT, GPT} {
		c := Config{Arch: arch, VocabSize: 30, DModel: 16, Heads: 2, Layers: 2, DFF: 32, MaxPos: 16, LayerNormE: 1e-5,
			Activation: "gelu_new", TypeVocab: 2}
		m, err := New(c, HeadSet{MLM: arch == BERT}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.AddClassifier([]string{"a", "b", "c"}, 2); err != nil {
			t.Fatal(err)
		}
		if arch == BERT && m.Heads().MLM {
			t.Fatal("AddClassifier kept the MLM head")
		}
		r := rand.New(rand.NewPCG(1, 1))
		tb := &TrainBatch{Batch: randomBatch(r, c.VocabSize, []int{5, 9, 3, 7}), Classes: []int{0, 2, 1, -100}}
		ev, err := m.EvaluateBatches(Classification, []*TrainBatch{tb}, 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(tb.Batch, ForwardOptions{SkipLogits: true})
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		correct := 0
		for i, y := range tb.Classes[:3] {
			var row []float32
			if arch == GPT {
				n := 0
				for _, v := range tb.Mask[i] {
					n += v
				}
				row = out.Classes.Row(i, n-1)
			} else {
				row = out.Classes.Row(i)
			}
			want += sample.NLL(row, y) / 3
			if sample.Argmax(row) == y {
				correct++
			}
		}
		if math.Abs(ev.Loss-want) > 1e-5 || ev.Tokens != 3 || math.Abs(ev.Accuracy-float64(correct)/3) > 1e-9 {
			t.Fatalf("%s: loss %.6f (want %.6f), rows %d, accuracy %.3f (want %d/3)", arch, ev.Loss, want, ev.Tokens, ev.Accuracy, correct)
		}
	}
}

func TestClassifierLearnsAndFreezeKeepsLayers(t *testing.T) {
	c := Config{Arch: BERT, VocabSize: 20, DModel: 32, Heads: 4, Layers: 2, DFF: 64, MaxPos: 16, LayerNormE: 1e-12,
		Activation: "gelu", TypeVocab: 2}
	m, err := New(c, HeadSet{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddClassifier([]string{"low", "high"}, 4); err != nil {
		t.Fatal(err)
	}
	// Label: does the sequence contain token 7? Learnable from the tokens alone.
	r := rand.New(rand.NewPCG(2, 2))
	mk := func(n int) *TrainBatch {
		tb := &TrainBatch{}
		var seqs [][]int
		for range n {
			s := make([]int, 6)
			y := r.IntN(2)
			for i := range s {
				s[i] = 8 + r.IntN(12)
			}
			if y == 1 {
				s[r.IntN(6)] = 7
			}
			seqs = append(seqs, s)
			tb.Classes = append(tb.Classes, y)
		}
		tb.Batch = PadBatch(seqs, 0)
		return tb
	}
	var batches []*TrainBatch
	for range 8 {
		batches = append(batches, mk(16))
	}
	val := []*TrainBatch{mk(64)}
	frozen := "bert.encoder.layer.0.attention.self.query.weight"
	before, _ := m.Weights.Float32(frozen)
	tr, err := m.NewTrainer(TrainConfig{Objective: Classification, Steps: 60, LR: 3e-3, Seed: 1, EvalEvery: 60,
		Trainable: FreezeLayers(c, 1)}, &sliceSource{b: batches}, val)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("val loss %.3f → %.3f, accuracy %.2f, trainable %d of %d", res.InitialValLoss, res.ValLoss, res.Val.Accuracy, tr.TrainableCount(), m.Weights.Count())
	if res.Val.Accuracy < 0.9 {
		t.Fatalf("classifier accuracy %.2f after training, want ≥ 0.9", res.Val.Accuracy)
	}
	after, _ := m.Weights.Float32(frozen)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("frozen %s changed at %d", frozen, i)
		}
	}
	upper, _ := m.Weights.Float32("bert.encoder.layer.1.attention.self.query.weight")
	if tr.TrainableCount() >= m.Weights.Count() || len(upper) == 0 {
		t.Fatal("FreezeLayers froze nothing")
	}
}

func TestSpanQAObjectiveLearns(t *testing.T) {
	c := Config{Arch: BERT, VocabSize: 20, DModel: 32, Heads: 4, Layers: 2, DFF: 64, MaxPos: 16, LayerNormE: 1e-12,
		Activation: "gelu", TypeVocab: 2}
	m, err := New(c, HeadSet{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddQAHead(6); err != nil {
		t.Fatal(err)
	}
	// The answer is the span from token 3 to the first token 4 after it.
	r := rand.New(rand.NewPCG(3, 3))
	mk := func(n int) *TrainBatch {
		tb := &TrainBatch{}
		for range n {
			s := make([]int, 12)
			for i := range s {
				s[i] = 5 + r.IntN(15)
			}
			st := 1 + r.IntN(6)
			en := st + 1 + r.IntN(3)
			s[st], s[en] = 3, 4
			tb.IDs = append(tb.IDs, s)
			tb.Starts, tb.Ends = append(tb.Starts, st), append(tb.Ends, en)
		}
		return tb
	}
	var batches []*TrainBatch
	for range 8 {
		batches = append(batches, mk(16))
	}
	tr, err := m.NewTrainer(TrainConfig{Objective: SpanQA, Steps: 80, LR: 3e-3, Seed: 2}, &sliceSource{b: batches}, []*TrainBatch{mk(64)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("QA val loss %.3f → %.3f, exact spans %.2f", res.InitialValLoss, res.ValLoss, res.Val.Accuracy)
	if res.Val.Accuracy < 0.8 || res.ValLoss > res.InitialValLoss/3 {
		t.Fatalf("span QA did not learn: loss %.3f → %.3f, exact %.2f", res.InitialValLoss, res.ValLoss, res.Val.Accuracy)
	}
}

// seqLogProb is Σ log p(labels) of row i by a plain forward pass.
func seqLogProb(t *testing.T, m *Model, b Batch, labels []int, i int) float64 {
	t.Helper()
	out, err := m.Forward(b, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lp float64
	for pos, y := range labels {
		if y >= 0 {
			lp -= sample.NLL(out.Logits.Row(i, pos), y)
		}
	}
	return lp
}

func TestSFTMaskAndDPOLossByHand(t *testing.T) {
	m := smallGPT(t)
	r := rand.New(rand.NewPCG(4, 4))
	b := randomBatch(r, m.Config.VocabSize, []int{8, 8})
	// Labels: next tokens of the "answer" (positions 4..6), −100 on the prompt.
	labels := make([][]int, 2)
	for i := range labels {
		labels[i] = []int{-100, -100, -100, -100, b.IDs[i][5], b.IDs[i][6], b.IDs[i][7], -100}
	}
	// SFT: the loss counts only the answer tokens.
	ev, err := m.EvaluateBatches(CausalLM, []*TrainBatch{{Batch: b, Labels: labels}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lp0, lp1 := seqLogProb(t, m, b, labels[0], 0), seqLogProb(t, m, b, labels[1], 1)
	if want := -(lp0 + lp1) / 6; math.Abs(ev.Loss-want) > 1e-4 || ev.Tokens != 6 {
		t.Fatalf("SFT loss %.6f over %d tokens, want %.6f over 6", ev.Loss, ev.Tokens, want)
	}
	// DPO on one pair (row 0 chosen, row 1 rejected) with made-up reference log-probs.
	ref := []float64{lp0 + 0.7, lp1 - 0.2}
	const beta = 0.5
	ev, err = m.EvaluateBatches(DPO, []*TrainBatch{{Batch: b, Labels: labels, RefLogProbs: ref}}, beta)
	if err != nil {
		t.Fatal(err)
	}
	z := beta * ((lp0 - ref[0]) - (lp1 - ref[1]))
	want := math.Log1p(math.Exp(-z)) // −log σ(z)
	if math.Abs(ev.Loss-want) > 1e-4 || math.Abs(ev.Margin-z) > 1e-4 || ev.Accuracy != 0 {
		t.Fatalf("DPO loss %.6f margin %.6f acc %.1f, want %.6f, %.6f, 0", ev.Loss, ev.Margin, ev.Accuracy, want, z)
	}
	// Training DPO raises the margin.
	tb := &TrainBatch{Batch: b, Labels: labels, RefLogProbs: []float64{lp0, lp1}}
	tr, err := m.NewTrainer(TrainConfig{Objective: DPO, Steps: 20, LR: 1e-3, DPOBeta: beta, Seed: 1}, &sliceSource{b: []*TrainBatch{tb}}, []*TrainBatch{tb})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Val.Margin <= 0.5 || res.Val.Accuracy != 1 {
		t.Fatalf("DPO margin after 20 steps %.3f (accuracy %.1f), want > 0.5", res.Val.Margin, res.Val.Accuracy)
	}
}

func TestNaNNeverReachesDisk(t *testing.T) {
	tok, train, _ := sampleStreams(t)
	m := tinyTrainGPT(t, tok.VocabSize())
	m.Tokenizer = tok
	dir := t.TempDir() + "/ckpt"
	for _, lr := range []float64{math.NaN(), math.Inf(1), -1} {
		if _, err := m.Train(train, nil, TrainConfig{Steps: 3, BatchSize: 4, SeqLen: 16, LR: lr}); err == nil {
			t.Fatalf("learning rate %g was accepted", lr)
		}
	}
	if _, err := m.Train(train, nil, TrainConfig{Steps: 2, BatchSize: 4, SeqLen: 16, CheckpointDir: dir}); err != nil {
		t.Fatal(err)
	}
	good, _ := Load(dir)
	want, _ := good.Weights.Float32("transformer.wte.weight")
	// Make the run diverge: huge embeddings overflow the forward pass to Inf/NaN.
	shape := m.Weights.Shape("transformer.wte.weight")
	huge := make([]float32, shapeSize(shape))
	for i := range huge {
		huge[i] = 3e38
	}
	m.Weights.Set("transformer.wte.weight", shape, huge)
	res, err := m.Train(train, nil, TrainConfig{Steps: 4, BatchSize: 4, SeqLen: 16, CheckpointDir: dir, CheckpointEvery: 1})
	if err == nil {
		t.Fatalf("a diverging run returned no error (%+v)", res)
	}
	t.Logf("diverged: %v", err)
	saved, err := Load(dir)
	if err != nil {
		t.Fatalf("the previous checkpoint was damaged: %v", err)
	}
	got, _ := saved.Weights.Float32("transformer.wte.weight")
	if got[0] != want[0] {
		t.Fatal("the checkpoint was overwritten by the diverged run")
	}
	// The diverging step was not applied: the weights are still the ones before it.
	if w, _ := m.Weights.Float32("transformer.wte.weight"); w[0] != 3e38 {
		t.Fatalf("the non-finite step changed the weights (wte[0] = %g)", w[0])
	}
	// And weights that are non-finite are never written.
	huge[7] = float32(math.Inf(1))
	m.Weights.Set("transformer.wte.weight", shape, huge)
	if err := m.Save(t.TempDir() + "/x"); err == nil {
		t.Fatal("Save wrote non-finite weights")
	}
}

func TestHostAdamWMatchesGraphAdamW(t *testing.T) {
	tok, train, _ := sampleStreams(t)
	run := func(graph bool) ([]float64, []float32) {
		graphAdamW = graph
		defer func() { graphAdamW = false }()
		m := tinyTrainGPT(t, tok.VocabSize())
		res, err := m.Train(train, nil, TrainConfig{Steps: 6, BatchSize: 8, SeqLen: 32, Seed: 9, LR: 3e-3, WeightDecay: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := m.Weights.Float32("transformer.h.1.mlp.c_fc.weight")
		return res.Losses, w
	}
	hl, hw := run(false)
	gl, gw := run(true)
	for i := range hl {
		if math.Abs(hl[i]-gl[i]) > 1e-4 {
			t.Fatalf("step %d: host AdamW loss %.6f, graph AdamW %.6f", i+1, hl[i], gl[i])
		}
	}
	if d := maxDiff(hw, gw); d > 1e-5 {
		t.Fatalf("weights after 6 steps differ by %g between host and graph AdamW", d)
	}
	if maxDiff(hw, make([]float32, len(hw))) == 0 {
		t.Fatal("no weights")
	}
}
