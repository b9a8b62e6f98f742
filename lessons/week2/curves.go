package week2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/divellm/divellm/llm/safetensors"
)

// CurvesFile is the name of the recorded learning curves in models/bert-tiny-zh-alerts,
// written by `go run ./lessons/week2/curvesbuild` (part of `make models`).
const CurvesFile = "curves.json"

// CurveRecord is one recorded learning-curve point: what LearningCurves computes for one
// (init, fraction), with the run's cost.
type CurveRecord struct {
	Init       string  `json:"init"`
	Fraction   float64 `json:"fraction"`
	TrainN     int     `json:"train_n"`
	Epochs     int     `json:"epochs"`
	Steps      int     `json:"steps"`
	Test       Metrics `json:"test"`
	Hard       Metrics `json:"hard"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Curves is the content of curves.json: the points and the hash of what they depend on
// (every CurveRecipe, the base model's weights, the training data).
type Curves struct {
	RecipeHash string        `json:"recipe_hash"`
	Recipes    []Recipe      `json:"recipes"`
	Points     []CurveRecord `json:"points"`
}

// curveRecipes are the recipes of the learning curves, in LearningCurves' order.
func curveRecipes() []Recipe {
	var rs []Recipe
	for _, init := range []string{Pretrained, Scratch} {
		for _, f := range CurveFractions {
			rs = append(rs, CurveRecipe(init, f))
		}
	}
	return rs
}

// curvesHashOf hashes the recipes, the base weights' hash and the training data the way
// recipeKey does.
func curvesHashOf(recipes []Recipe, weightsHash, trainJSON []byte) string {
	parts := [][]byte{weightsHash, trainJSON}
	for _, r := range recipes {
		rj, _ := json.Marshal(r)
		parts = append(parts, rj)
	}
	return cacheKey("curves", parts...)
}

// CurvesHash is the hash a curves.json must carry to be used for the current recipes,
// base model and training data.
func CurvesHash() (string, error) {
	wh, tj, err := recipeInputs()
	if err != nil {
		return "", err
	}
	return curvesHashOf(curveRecipes(), wh, tj), nil
}

// record is a trained result as a curve point.
func record(r Recipe, res *Result) CurveRecord {
	return CurveRecord{Init: r.Init, Fraction: r.Fraction, TrainN: res.TrainN, Epochs: r.Epochs, Steps: len(res.Losses),
		Test: res.Test, Hard: res.Hard, Seconds: res.Seconds, CPUSeconds: res.CPUSeconds}
}

// BuildCurves trains (or loads from the cache) every learning-curve point; say, if set,
// is told which run starts.
func BuildCurves(say func(string)) (*Curves, error) {
	h, err := CurvesHash()
	if err != nil {
		return nil, err
	}
	c := &Curves{RecipeHash: h}
	for _, r := range curveRecipes() {
		if say != nil {
			say(fmt.Sprintf("%s, %g%% 的标签 (labels), %d 轮 (epochs)", r.Init, 100*r.Fraction, r.Epochs))
		}
		res, err := Train(r, nil)
		if err != nil {
			return nil, err
		}
		c.Recipes = append(c.Recipes, r)
		c.Points = append(c.Points, record(r, res))
	}
	return c, nil
}

// WriteCurves writes c as curves.json into dir, a model directory divellm wrote (its
// marker lists the file, so the directory stays replaceable); the write is atomic.
func WriteCurves(dir string, c *Curves) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return safetensors.WriteFileInDir(dir, CurvesFile, append(b, '\n'))
}

// ReadCurves reads and checks a curves.json: a clear error for a malformed file.
func ReadCurves(path string) (*Curves, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Curves
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h, ok := strings.CutPrefix(c.RecipeHash, "curves-"); !ok || h == "" {
		return nil, fmt.Errorf("%s: no valid recipe_hash", path)
	}
	if len(c.Points) == 0 {
		return nil, fmt.Errorf("%s: no points", path)
	}
	for i, p := range c.Points {
		if (p.Init != Pretrained && p.Init != Scratch) || !(p.Fraction > 0 && p.Fraction <= 1) || p.TrainN < 1 ||
			math.IsNaN(p.Test.MacroF1) || math.IsNaN(p.Hard.MacroF1) {
			return nil, fmt.Errorf("%s: point %d (%s, %g) is malformed", path, i, p.Init, p.Fraction)
		}
	}
	return &c, nil
}

// errStaleCurves says a curves.json was made for other recipes, base weights or data.
var errStaleCurves = errors.New("recorded curves are for other recipes, base weights or data")

// recordedCurves returns the recorded points of path if its hash is want.
func recordedCurves(path, want string) (*Curves, error) {
	c, err := ReadCurves(path)
	if err != nil {
		return nil, err
	}
	if c.RecipeHash != want {
		return nil, errStaleCurves
	}
	return c, nil
}
