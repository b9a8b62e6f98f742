package llm

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/llm/tokenizer"
)

// sampleStreams tokenizes the shipped sample text (a slice of the project's own Chinese
// corpus) with a char tokenizer and splits it 90/10.
func sampleStreams(t *testing.T) (tokenizer.Tokenizer, []int, []int) {
	t.Helper()
	data, err := os.ReadFile("testdata/ops_zh_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenizer.NewChar(string(data), tokenizer.CharOptions{})
	var ids []int
	for _, tk := range tok.Encode(string(data)) {
		ids = append(ids, tk.ID)
	}
	cut := len(ids) * 9 / 10
	return tok, ids[:cut], ids[cut:]
}

func tinyTrainGPT(t *testing.T, vocab int) *Model {
	t.Helper()
	c := Config{Arch: GPT, VocabSize: vocab, DModel: 64, Heads: 4, Layers: 2, DFF: 256, MaxPos: 64, LayerNormE: 1e-5, Activation: "gelu_new"}
	m, err := New(c, HeadSet{}, 42)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainingCutsValidationLoss(t *testing.T) {
	tok, train, val := sampleStreams(t)
	m := tinyTrainGPT(t, tok.VocabSize())
	m.Tokenizer = tok
	res, err := m.Train(train, val, TrainConfig{Steps: 150, BatchSize: 16, SeqLen: 48, LR: 4e-3, Seed: 7, EvalBatches: 4})
	if err != nil {
		t.Fatal(err)
	}
	cut := 1 - res.ValLoss/res.InitialValLoss
	t.Logf("val loss %.3f → %.3f (%.0f%% lower), train loss %.3f, %.0f tokens/s", res.InitialValLoss, res.ValLoss, 100*cut, res.TrainLoss, res.TokensPerSec)
	if cut < 0.40 {
		t.Fatalf("validation loss fell by %.0f%%, want ≥ 40%%", 100*cut)
	}
	// The trained weights are in the model: Evaluate agrees with the trainer's last evaluation.
	ev, err := m.Evaluate(val, 48, 16, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Loss-res.ValLoss) > 1e-3 {
		t.Fatalf("Evaluate after training = %.4f, trainer's val loss %.4f", ev.Loss, res.ValLoss)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	tok, train, val := sampleStreams(t)
	run := func() []float64 {
		m := tinyTrainGPT(t, tok.VocabSize())
		m.Config.Dropout = 0.1 // dropout too must follow the seed
		res, err := m.Train(train, val, TrainConfig{Steps: 6, BatchSize: 8, SeqLen: 32, Seed: 3, EvalEvery: 3})
		if err != nil {
			t.Fatal(err)
		}
		return append(res.Losses, res.ValLoss)
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different losses: %v vs %v", a, b)
		}
	}
}

func TestResumeContinuesWhereItStopped(t *testing.T) {
	tok, train, _ := sampleStreams(t)
	tc := TrainConfig{Steps: 8, BatchSize: 8, SeqLen: 32, Seed: 5, EvalEvery: 4}
	// Uninterrupted run.
	full := tinyTrainGPT(t, tok.VocabSize())
	full.Tokenizer = tok
	resFull, err := full.Train(train, nil, tc)
	if err != nil {
		t.Fatal(err)
	}
	// Run 4 of the 8 steps with checkpoints (as if interrupted), then resume in a fresh model.
	dir := filepath.Join(t.TempDir(), "ckpt")
	half := tinyTrainGPT(t, tok.VocabSize())
	half.Tokenizer = tok
	tcHalf := tc
	tcHalf.StopAfter, tcHalf.CheckpointDir = 4, dir
	if _, err := half.Train(train, nil, tcHalf); err != nil {
		t.Fatal(err)
	}
	resumed := tinyTrainGPT(t, tok.VocabSize())
	resumed.Tokenizer = tok
	tcRes := tc
	tcRes.CheckpointDir, tcRes.Resume = dir, true
	resRes, err := resumed.Train(train, nil, tcRes)
	if err != nil {
		t.Fatal(err)
	}
	if len(resRes.Losses) != 4 {
		t.Fatalf("resumed run took %d steps, want 4", len(resRes.Losses))
	}
	for i, l := range resRes.Losses {
		if math.Abs(l-resFull.Losses[4+i]) > 1e-5 {
			t.Fatalf("step %d: resumed loss %.6f, uninterrupted %.6f", 5+i, l, resFull.Losses[4+i])
		}
	}
	if _, err := Load(dir); err != nil {
		t.Fatalf("checkpoint written during training does not load: %v", err)
	}
}

func TestTrainStopsOnCancel(t *testing.T) {
	tok, train, val := sampleStreams(t)
	m := tinyTrainGPT(t, tok.VocabSize())
	m.Tokenizer = tok
	ctx, cancel := context.WithCancel(context.Background())
	dir := filepath.Join(t.TempDir(), "ckpt")
	res, err := m.Train(train, val, TrainConfig{Steps: 100, BatchSize: 4, SeqLen: 16, Seed: 1, CheckpointDir: dir, CheckpointEvery: 1000,
		Context: ctx, Progress: func(p Progress) {
			if p.Step == 3 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Train returned %v, want context.Canceled", err)
	}
	if res == nil || res.Steps != 3 || math.IsNaN(res.ValLoss) {
		t.Fatalf("partial result %+v, want 3 steps and a measured val loss", res)
	}
	saved, err := Load(dir)
	if err != nil {
		t.Fatalf("no checkpoint after cancel: %v", err)
	}
	a, _ := saved.Weights.Float32("transformer.wte.weight")
	b, _ := m.Weights.Float32("transformer.wte.weight")
	if a[0] != b[0] {
		t.Fatal("checkpoint does not hold the weights reached")
	}
}
