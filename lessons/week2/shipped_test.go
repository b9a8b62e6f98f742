package week2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
)

// The shipped classifier (make models) is what its eval_result.json says: eight alert
// labels in the dataset's order, under 5 MB, trained with FullRecipe's settings (so the
// notebook's full fine-tuning loads it), and it scores what was recorded on both splits.
// The same holds for the shipped LoRA run and LoRARecipe.
func TestShippedAlertClassifier(t *testing.T) {
	for _, sh := range shippedRuns {
		t.Run(sh.model, func(t *testing.T) { testShipped(t, sh) })
	}
}

func testShipped(t *testing.T, sh shippedRun) {
	dir, err := lessons.ModelDir(sh.model)
	if err != nil {
		t.Skipf("%s not built yet (make models): %v", sh.model, err)
	}
	st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 5<<20 {
		t.Errorf("model.safetensors is %d bytes, over 5 MB", st.Size())
	}
	m, err := lessons.LoadModel(sh.model)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ModelLabels(m), data.AlertLabels()) {
		t.Errorf("labels %v", ModelLabels(m))
	}
	var rec struct {
		shippedResult
		Accuracy float64 `json:"accuracy"`
		MacroF1  float64 `json:"macro_f1"`
		Test     struct {
			Accuracy float64 `json:"accuracy"`
			MacroF1  float64 `json:"macro_f1"`
		} `json:"test"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "eval_result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	r := sh.recipe()
	if rec.Mode != sh.mode || rec.Epochs != r.Epochs || rec.LR != r.LR || rec.BatchSize != r.BatchSize || rec.MaxLen != r.MaxLen ||
		rec.Seed != int64(r.Seed) || rec.Augment != r.Augment {
		t.Errorf("shipped with %+v, the recipe is %+v", rec.shippedResult, r)
	}
	var h TrainHistory
	if err := readJSON(filepath.Join(dir, "train_history.json"), &h); err != nil || len(h.Losses) == 0 || len(h.Evals) == 0 {
		t.Errorf("train_history.json: %v, %d losses", err, len(h.Losses))
	}
	if testing.Short() {
		return
	}
	for _, c := range []struct {
		split    string
		acc, mf1 float64
	}{{"test", rec.Accuracy, rec.MacroF1}, {"hard", rec.Test.Accuracy, rec.Test.MacroF1}} {
		ex, _ := AlertExamples(c.split)
		met, err := EvaluateModel(m, ex, MaxLen)
		if err != nil {
			t.Fatal(err)
		}
		if abs(met.Accuracy-c.acc) > 1e-9 || abs(met.MacroF1-c.mf1) > 1e-9 {
			t.Errorf("%s: accuracy %.4f macro-F1 %.4f, recorded %.4f / %.4f", c.split, met.Accuracy, met.MacroF1, c.acc, c.mf1)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// The notebook's LoRA cells on a clean checkout: LoRARecipe's cache entry comes from the
// shipped LoRA run (no training), holds the adapter files, and the unmerged model (base +
// adapters) scores exactly what the merged one does.
func TestShippedLoRARun(t *testing.T) {
	if _, err := lessons.ModelDir(lessons.BERTTinyZHAlertsLoRA); err != nil {
		t.Skipf("%s not built yet (make models): %v", lessons.BERTTinyZHAlertsLoRA, err)
	}
	if testing.Short() {
		t.Skip("evaluates the test split twice")
	}
	t.Setenv("DIVELLM_CACHE", t.TempDir())
	merged, res, err := LoadTrained(LoRARecipe())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Losses) == 0 || res.Trainable == 0 || res.Trainable >= res.Params {
		t.Fatalf("result: %d losses, %d of %d parameters trainable", len(res.Losses), res.Trainable, res.Params)
	}
	for _, f := range adapterFiles {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Fatalf("cache entry lacks %s: %v", f, err)
		}
	}
	unmerged, err := LoadUnmerged(LoRARecipe())
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := AlertExamples("test")
	a, err := EvaluateModel(merged, ex, MaxLen)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EvaluateModel(unmerged, ex, MaxLen)
	if err != nil {
		t.Fatal(err)
	}
	if a.Accuracy != res.Test.Accuracy || b.Accuracy != a.Accuracy {
		t.Fatalf("test accuracy: merged %.4f, unmerged %.4f, recorded %.4f", a.Accuracy, b.Accuracy, res.Test.Accuracy)
	}
}
