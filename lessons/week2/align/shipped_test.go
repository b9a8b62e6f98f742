package align

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func shippedDir(t *testing.T, name string) (string, *Shipped) {
	t.Helper()
	dir, err := lessons.ModelDir(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadShipped(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// The shipped SFT and DPO models load, were built with the notebook's recipes (the recipe
// hash recomputed from the base weights, the data and the settings), and the held-out
// numbers measured from their weights are the ones make models recorded.
func TestShippedModelsAreTheNotebookRuns(t *testing.T) {
	base, err := lessons.ModelDir(lessons.GPTTinyZH)
	if err != nil {
		t.Fatal(err)
	}
	sftDir, s := shippedDir(t, lessons.GPTTinyZHSFT)
	_, held, o, k, err := sftRecipe(base)
	if err != nil {
		t.Fatal(err)
	}
	if s.Task != "sft" || s.Recipe != k || s.Settings.Epochs != o.Epochs || s.Settings.BatchSize != o.BatchSize || s.Settings.LR != o.LR {
		t.Fatalf("%s: task %s recipe %s settings %+v; the notebook's recipe is %s %+v", sftDir, s.Task, s.Recipe, s.Settings, k, o)
	}
	c := s.Report.Curve
	if s.Report.Steps != len(c.Loss) || len(c.EvalLoss) == 0 || c.EvalSteps[len(c.EvalSteps)-1] != s.Report.Steps {
		t.Fatalf("SFT record: %d steps, %d losses, eval steps %v", s.Report.Steps, len(c.Loss), c.EvalSteps)
	}
	m0, m1 := gpt(t), load(t, sftDir)
	before, err := AnswerLoss(m0, held)
	if err != nil {
		t.Fatal(err)
	}
	after, err := AnswerLoss(m1, held)
	if err != nil {
		t.Fatal(err)
	}
	if !near(before, s.Report.EvalLossBefore, 1e-4) || !near(after, s.Report.EvalLossAfter, 1e-4) || !near(after, c.EvalLoss[len(c.EvalLoss)-1], 1e-4) {
		t.Fatalf("held-out answer loss now %.5f → %.5f, recorded %.5f → %.5f", before, after, s.Report.EvalLossBefore, s.Report.EvalLossAfter)
	}
	if !(after < before/4) {
		t.Fatalf("SFT barely lowered the held-out answer loss: %.3f → %.3f", before, after)
	}

	dpoDir, d := shippedDir(t, lessons.GPTTinyZHDPO)
	_, pairs, do, dk, err := dpoRecipe(sftDir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Task != "dpo" || d.Recipe != dk || d.Settings.Beta != do.Beta || d.Base != lessons.GPTTinyZHSFT {
		t.Fatalf("%s: task %s recipe %s base %s β %g; the notebook's recipe is %s β %g", dpoDir, d.Task, d.Recipe, d.Base, d.Settings.Beta, dk, do.Beta)
	}
	eb, ea, err := EvalDPO(m1, load(t, dpoDir), pairs, do.Beta)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Report
	if math.Abs(eb.Margin) > 1e-3 || !near(eb.Loss, math.Ln2, 1e-4) || !near(r.EvalLossBefore, math.Ln2, 1e-4) {
		t.Fatalf("DPO before: margin %.5f loss %.5f (recorded %.5f), want 0 and ln 2", eb.Margin, eb.Loss, r.EvalLossBefore)
	}
	if !near(ea.Loss, r.EvalLossAfter, 1e-3) || !near(ea.Margin, r.EvalMarginAfter, 1e-3) || math.Abs(ea.Accuracy-r.EvalAccuracyAfter) > 1.5/float64(len(pairs)) {
		t.Fatalf("DPO after: loss %.5f margin %.5f accuracy %.4f now; recorded %.5f %.5f %.4f",
			ea.Loss, ea.Margin, ea.Accuracy, r.EvalLossAfter, r.EvalMarginAfter, r.EvalAccuracyAfter)
	}
	if !(ea.Margin > 0.5 && ea.Accuracy > 0.6) {
		t.Fatalf("DPO did not separate the held-out pairs: margin %.3f, positive %.3f", ea.Margin, ea.Accuracy)
	}
}

func load(t *testing.T, dir string) *llm.Model {
	t.Helper()
	m, err := llm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// align.SFT() and align.DPO() in a fresh checkout (empty cache) take the shipped models,
// measure the held-out numbers and answers from their weights (agreeing with the record,
// verdicts included), and the next call reads the cache. A model whose recipe hash does
// not match is not used.
func TestRunsFromShippedModels(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 240 answers (about half a minute)")
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+lessons.Module+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{lessons.GPTTinyZH, lessons.GPTTinyZHSFT, lessons.GPTTinyZHDPO} {
		dir, err := lessons.ModelDir(name)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(dir)
		if err := os.MkdirAll(filepath.Join(root, "models"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(root, "models", name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DIVELLM_ROOT", root)
	_, s := shippedDir(t, lessons.GPTTinyZHSFT)
	_, d := shippedDir(t, lessons.GPTTinyZHDPO)

	sft, err := SFT()
	if err != nil {
		t.Fatal(err)
	}
	if sft.Cached || sft.Shipped != lessons.GPTTinyZHSFT || filepath.Base(sft.Dir) != lessons.GPTTinyZHSFT {
		t.Fatalf("SFT run: shipped %q cached %v dir %s", sft.Shipped, sft.Cached, sft.Dir)
	}
	if !near(sft.Report.EvalLossAfter, s.Report.EvalLossAfter, 1e-4) || !slices.Equal(sft.Report.Curve.Loss, s.Report.Curve.Loss) {
		t.Fatalf("SFT run: held-out loss %.5f, recorded %.5f", sft.Report.EvalLossAfter, s.Report.EvalLossAfter)
	}
	checkVerdicts(t, "SFT before", sft.Before, s.Verdicts.Before)
	checkVerdicts(t, "SFT after", sft.After, s.Verdicts.After)

	dpo, err := DPO()
	if err != nil {
		t.Fatal(err)
	}
	if dpo.Cached || dpo.Shipped != lessons.GPTTinyZHDPO || dpo.Base != sft.Dir || !slices.Equal(dpo.Before, sft.After) {
		t.Fatalf("DPO run: shipped %q cached %v base %s", dpo.Shipped, dpo.Cached, dpo.Base)
	}
	if !near(dpo.Report.EvalMarginAfter, d.Report.EvalMarginAfter, 1e-3) || !near(dpo.Report.EvalLossAfter, d.Report.EvalLossAfter, 1e-3) {
		t.Fatalf("DPO run: margin %.5f loss %.5f, recorded %.5f %.5f", dpo.Report.EvalMarginAfter, dpo.Report.EvalLossAfter, d.Report.EvalMarginAfter, d.Report.EvalLossAfter)
	}
	checkVerdicts(t, "DPO after", dpo.After, d.Verdicts.After)

	again, err := DPO()
	if err != nil || !again.Cached || again.Dir != dpo.Dir || !slices.Equal(again.After, dpo.After) {
		t.Fatalf("second DPO(): cached %v dir %s (%v)", again != nil && again.Cached, again.Dir, err)
	}

	// A recipe that is not the shipped model's: the model is not used.
	base := filepath.Join(root, "models", lessons.GPTTinyZH)
	if _, _, err := shipped(lessons.GPTTinyZHSFT, "sft-another-recipe"); err == nil {
		t.Fatal("a model built with another recipe was accepted")
	}
	if _, _, _, k, _ := sftRecipe(base); k != s.Recipe {
		t.Fatalf("recipe hash %s, shipped %s", k, s.Recipe)
	}
}

func checkVerdicts(t *testing.T, what string, answers []string, want map[Verdict]int) {
	t.Helper()
	got, err := verdictCounts(answers)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Verdicts {
		if got[v] != want[v] {
			t.Fatalf("%s: verdicts %v now, recorded %v", what, got, want)
		}
	}
}

// StopAfter runs the first steps of the full schedule: the same losses as the full run's
// first steps (a shortened schedule would warm up and decay faster), and the report says
// how long the schedule was.
func TestStopAfterIsThePrefixOfTheFullRun(t *testing.T) {
	train, held, err := SFTData()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Epochs: 1, BatchSize: 16, LR: 2e-3, Seed: 1}
	full, err := TrainSFT(gpt(t), train[:64], held[:8], o)
	if err != nil {
		t.Fatal(err)
	}
	o.StopAfter = 2
	part, err := TrainSFT(gpt(t), train[:64], held[:8], o)
	if err != nil {
		t.Fatal(err)
	}
	if part.Steps != 2 || full.Steps != 4 || part.Schedule != 4 || full.Schedule != 0 || len(part.Curve.Loss) != 2 || part.Curve.EvalSteps[len(part.Curve.EvalSteps)-1] != 2 {
		t.Fatalf("stopped run: %d steps of %d (full %d), eval steps %v", part.Steps, part.Schedule, full.Steps, part.Curve.EvalSteps)
	}
	for i, v := range part.Curve.Loss {
		if !near(v, full.Curve.Loss[i], 1e-4) {
			t.Fatalf("step %d: loss %.5f, the full run's %.5f", i+1, v, full.Curve.Loss[i])
		}
	}
}
