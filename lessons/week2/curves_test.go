package week2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/safetensors"
)

func TestCurvesHashChanges(t *testing.T) {
	rs := []Recipe{CurveRecipe(Pretrained, 0.05), CurveRecipe(Scratch, 0.05)}
	w, d := []byte("weights"), []byte(`[{"text":"a"}]`)
	base := curvesHashOf(rs, w, d)
	if base != curvesHashOf(rs, w, d) {
		t.Fatal("hash is not deterministic")
	}
	other := append([]Recipe(nil), rs...)
	other[1].Epochs++
	for name, h := range map[string]string{
		"recipe":  curvesHashOf(other, w, d),
		"base":    curvesHashOf(rs, []byte("weights2"), d),
		"data":    curvesHashOf(rs, w, []byte(`[{"text":"b"}]`)),
		"recipes": curvesHashOf(rs[:1], w, d),
	} {
		if h == base {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
}

// fakeTrain is a trainer that returns synthetic results and counts its calls.
func fakeTrain(calls *[]Recipe) func(Recipe) (*Result, error) {
	return func(r Recipe) (*Result, error) {
		*calls = append(*calls, r)
		f1 := 0.5 + r.Fraction/4
		if r.Init == Scratch {
			f1 -= 0.1
		}
		return &Result{Recipe: r, TrainN: int(1000 * r.Fraction), Test: Metrics{MacroF1: f1, Accuracy: f1 + 0.01}, Hard: Metrics{MacroF1: f1 / 2},
			TrainHistory: TrainHistory{Losses: make([]float64, 7)}}, nil
	}
}

func writeCurvesFile(t *testing.T, hash string, pts []CurveRecord) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), CurvesFile)
	b, err := json.Marshal(Curves{RecipeHash: hash, Points: pts})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func syntheticPoints() []CurveRecord {
	var pts []CurveRecord
	for _, init := range []string{Pretrained, Scratch} {
		for _, f := range []float64{0.01, 0.05, 1} {
			pts = append(pts, CurveRecord{Init: init, Fraction: f, TrainN: int(1000 * f), Epochs: 3, Steps: 7,
				Test: Metrics{MacroF1: 0.3, Accuracy: 0.4}, Hard: Metrics{MacroF1: 0.2}})
		}
	}
	return pts
}

func TestLearningCurvesRecorded(t *testing.T) {
	const want = "curves-0123456789abcdef0123"
	path := writeCurvesFile(t, want, syntheticPoints())
	var calls []Recipe
	set, err := learningCurves(path, want, fakeTrain(&calls), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Recorded || len(set.Points) != 6 || set.Points[0].Test.MacroF1 != 0.3 {
		t.Fatalf("recorded file not used: %+v", set)
	}
	if len(calls) != 2 || calls[0] != CurveRecipe(Pretrained, LiveCurveFraction) || calls[1] != CurveRecipe(Scratch, LiveCurveFraction) {
		t.Fatalf("want only the live pair trained, got %+v", calls)
	}
	if len(set.Checks) != 2 {
		t.Fatalf("want 2 checks, got %d", len(set.Checks))
	}
	c := set.Checks[0]
	if c.Recorded.Test.MacroF1 != 0.3 || c.Live.Test.MacroF1 != 0.5+0.05/4 || c.Live.Steps != 7 {
		t.Fatalf("check %+v", c)
	}
	lines := set.CheckLines()
	if len(lines) != 2 || !strings.Contains(lines[0], "0.3000") || !strings.Contains(lines[0], "+0.2125") {
		t.Fatalf("check lines %q", lines)
	}
}

func TestLearningCurvesFallback(t *testing.T) {
	const want = "curves-0123456789abcdef0123"
	bad := filepath.Join(t.TempDir(), CurvesFile)
	if err := os.WriteFile(bad, []byte(`{"recipe_hash": "curves-01", "points": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	noHash := writeCurvesFile(t, "", syntheticPoints())
	badPoint := syntheticPoints()
	badPoint[2].Init = "elsewhere"
	for name, path := range map[string]string{
		"wrong hash": writeCurvesFile(t, "curves-aaaaaaaaaaaaaaaaaaaa", syntheticPoints()),
		"missing":    filepath.Join(t.TempDir(), CurvesFile),
		"no dir":     "",
		"malformed":  bad,
		"no hash":    noHash,
		"bad point":  writeCurvesFile(t, want, badPoint),
		"no points":  writeCurvesFile(t, want, nil),
	} {
		var calls []Recipe
		set, err := learningCurves(path, want, fakeTrain(&calls), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if set.Recorded || set.Why == "" || len(calls) != 2*len(CurveFractions) || len(set.Points) != 2*len(CurveFractions) {
			t.Errorf("%s: want every point trained, got recorded=%v why=%q calls=%d", name, set.Recorded, set.Why, len(calls))
		}
		if got := set.CheckLines(); len(got) != 1 || !strings.Contains(got[0], set.Why) {
			t.Errorf("%s: check lines %q", name, got)
		}
	}
	if _, err := ReadCurves(bad); err == nil || !strings.Contains(err.Error(), CurvesFile) {
		t.Errorf("malformed file: want an error naming it, got %v", err)
	}
}

func TestWriteCurvesNeedsMarker(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCurves(dir, &Curves{RecipeHash: "curves-00"}); err == nil {
		t.Fatal("wrote curves.json into a directory divellm did not write")
	}
}

func TestWriteCurvesRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	if err := safetensors.WriteDirAtomic(dir, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "config.json"), []byte("{}"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	c := &Curves{RecipeHash: "curves-0123456789abcdef0123", Points: syntheticPoints()}
	if err := WriteCurves(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := recordedCurves(filepath.Join(dir, CurvesFile), c.RecipeHash)
	if err != nil || len(got.Points) != len(c.Points) || got.Points[1].Fraction != c.Points[1].Fraction || got.Points[1].Test.MacroF1 != c.Points[1].Test.MacroF1 {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	if err := safetensors.CheckReplaceable(dir); err != nil {
		t.Errorf("the directory is no longer replaceable after curves.json: %v", err)
	}
}
