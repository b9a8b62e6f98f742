package week2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
)

// Recipe says how one classifier of the notebook is trained; with the base model's
// weights it is the key of the run's cache entry.
type Recipe struct {
	Init      string  `json:"init"`     // "pretrained" (bert-tiny-zh) or "scratch" (its shape and tokenizer, random weights)
	Fraction  float64 `json:"fraction"` // share of the training alerts kept, the same share of every class
	Epochs    int     `json:"epochs"`
	LR        float64 `json:"lr"`
	BatchSize int     `json:"batch_size"`
	MaxLen    int     `json:"max_len"`
	LoRARank  int     `json:"lora_rank,omitempty"`
	Seed      uint64  `json:"seed"`
	Augment   bool    `json:"augment,omitempty"`
}

// The two ways a run starts.
const (
	Pretrained = "pretrained"
	Scratch    = "scratch"
)

// Shipped settings: the recipe `make models` uses for models/bert-tiny-zh-alerts
// (scripts/make-models.sh passes the same values to divellm finetune).
const (
	FullEpochs = 6
	FullLR     = 2e-3
	BatchSize  = 32
	MaxLen     = 128
	Seed       = 1
	LoRARank   = 8
	LoRALR     = 5e-3
)

// FullRecipe is full fine-tuning of bert-tiny-zh on every training alert: the shipped
// classifier's recipe.
func FullRecipe() Recipe {
	return Recipe{Init: Pretrained, Fraction: 1, Epochs: FullEpochs, LR: FullLR, BatchSize: BatchSize, MaxLen: MaxLen, Seed: Seed}
}

// LoRARecipe is FullRecipe with rank-8 LoRA adapters on the attention projections
// instead of full fine-tuning (and a higher learning rate, as usual for adapters).
func LoRARecipe() Recipe {
	r := FullRecipe()
	r.LoRARank, r.LR = LoRARank, LoRALR
	return r
}

// CurveFractions are the label shares of the learning curves.
var CurveFractions = []float64{0.01, 0.05, 0.2, 1}

// minCurveSteps is the least number of steps a learning-curve run takes: a small subset
// gets more epochs, so every point has a comparable optimisation budget.
const minCurveSteps = 180

// CurveRecipe is the recipe of one learning-curve point: init (Pretrained or Scratch) on a
// fraction of the training alerts. At fraction 1 the pretrained point is FullRecipe.
func CurveRecipe(init string, fraction float64) Recipe {
	r := FullRecipe()
	r.Init, r.Fraction = init, fraction
	n := 0
	train, err := AlertExamples("train")
	if err == nil {
		n = len(Subsample(train, fraction, Seed))
	}
	if n > 0 {
		for (r.Epochs*n+r.BatchSize-1)/r.BatchSize < minCurveSteps {
			r.Epochs++
		}
	}
	return r
}

func (r Recipe) check() error {
	switch {
	case r.Init != Pretrained && r.Init != Scratch:
		return fmt.Errorf("recipe: init %q: want %q or %q", r.Init, Pretrained, Scratch)
	case !(r.Fraction > 0 && r.Fraction <= 1):
		return fmt.Errorf("recipe: fraction %g outside (0, 1]", r.Fraction)
	case r.Epochs < 1 || r.BatchSize < 1 || r.MaxLen < 3:
		return fmt.Errorf("recipe: epochs %d, batch size %d, max length %d must be positive", r.Epochs, r.BatchSize, r.MaxLen)
	case !(r.LR > 0) || math.IsInf(r.LR, 0):
		return fmt.Errorf("recipe: learning rate %g", r.LR)
	}
	return nil
}

// Result is a trained recipe: its scores on the standard test split (same templates as
// training) and on the hard split (unseen templates), its training history and cost.
type Result struct {
	Recipe       Recipe   `json:"recipe"`
	TrainN       int      `json:"train_n"`
	Labels       []string `json:"labels"`
	Test         Metrics  `json:"test"`
	Hard         Metrics  `json:"hard"`
	TrainHistory          // every step's loss and batch accuracy; the test-split evaluations
	Seconds      float64  `json:"seconds"` // training wall-clock time
	CPUSeconds   float64  `json:"cpu_seconds"`
	Params       int      `json:"params"`
	Trainable    int      `json:"trainable"`
	Dir          string   `json:"-"` // the cached model directory
}

// TrainableShare is the share of the parameters that learned.
func (r *Result) TrainableShare() float64 { return float64(r.Trainable) / float64(r.Params) }

// baseModel loads the start of a recipe: the shipped bert-tiny-zh, or a model of its
// shape and tokenizer with random weights.
func baseModel(init string, seed uint64) (*llm.Model, error) {
	m, err := lessons.LoadModel(lessons.BERTTinyZH)
	if err != nil {
		return nil, err
	}
	if init == Scratch {
		tok := m.Tokenizer
		if m, err = llm.New(m.Config, llm.HeadSet{Pooler: true}, seed+100); err != nil {
			return nil, err
		}
		m.Tokenizer = tok
	}
	return m, nil
}

// recipeKey is the cache key of a recipe: its settings, the base model's weights and the
// training data.
func recipeKey(r Recipe) (string, error) {
	wh, tj, err := recipeInputs()
	if err != nil {
		return "", err
	}
	rj, _ := json.Marshal(r)
	return cacheKey("cls", rj, wh, tj), nil
}

// recipeInputs is what every recipe's key hashes besides the recipe itself: the hash of
// the base model's weights and the training data as JSON.
func recipeInputs() (weightsHash, trainJSON []byte, err error) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, nil, err
	}
	if weightsHash, err = fileHash(filepath.Join(dir, "model.safetensors")); err != nil {
		return nil, nil, err
	}
	train, err := AlertExamples("train")
	if err != nil {
		return nil, nil, err
	}
	trainJSON, _ = json.Marshal(train)
	return weightsHash, trainJSON, nil
}

// Train runs a recipe, or loads its cached result: a later cell (or run) with the same
// recipe, base model and data gets the stored result in milliseconds. progress, if not
// nil, sees every step of a real run (a cached run calls it for nothing).
func Train(r Recipe, progress func(Step)) (*Result, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	key, err := recipeKey(r)
	if err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, key)
	var res Result
	if err := readJSON(filepath.Join(dir, "week2_result.json"), &res); err == nil && res.Recipe == r {
		res.Dir = dir
		return &res, nil
	}
	m, err := baseModel(r.Init, r.Seed)
	if err != nil {
		return nil, err
	}
	train, err := AlertExamples("train")
	if err != nil {
		return nil, err
	}
	train = Subsample(train, r.Fraction, r.Seed)
	test, err := AlertExamples("test")
	if err != nil {
		return nil, err
	}
	hard, err := AlertExamples("hard")
	if err != nil {
		return nil, err
	}
	for _, sh := range shippedRuns {
		if r == sh.recipe() {
			if shipped, err := fromShipped(r, sh, len(train), test, hard, dir); err == nil {
				return shipped, nil
			}
		}
	}
	run, err := FineTune(m, train, test, r.options(progress))
	if err != nil {
		return nil, err
	}
	res = Result{Recipe: r, TrainN: len(train), Labels: run.Labels, Test: run.Eval, TrainHistory: run.TrainHistory(),
		Seconds: run.Seconds, CPUSeconds: run.CPUSeconds, Params: run.Params, Trainable: run.Trainable, Dir: dir}
	if res.Hard, err = EvaluateModel(m, hard, r.MaxLen); err != nil {
		return nil, err
	}
	if err := run.Export(dir, lessons.BERTTinyZH, nil); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	if err := writeJSONAtomic(filepath.Join(dir, "week2_result.json"), res); err != nil {
		return nil, err
	}
	return &res, nil
}

// options are the FineTune options of a recipe.
func (r Recipe) options(progress func(Step)) Options {
	return Options{Epochs: r.Epochs, LR: r.LR, BatchSize: r.BatchSize, MaxLen: r.MaxLen, LoRARank: r.LoRARank, Seed: r.Seed,
		Augment: r.Augment, Progress: progress}
}

// shippedResult is what fromShipped reads from models/bert-tiny-zh-alerts/eval_result.json
// (written by divellm finetune) to check that the shipped model is this recipe's run.
type shippedResult struct {
	Mode       string  `json:"mode"`
	Epochs     int     `json:"epochs"`
	BatchSize  int     `json:"batch_size"`
	LR         float64 `json:"lr"`
	MaxLen     int     `json:"max_len"`
	Seed       int64   `json:"seed"`
	Augment    bool    `json:"augment"`
	TrainN     int     `json:"train_examples"`
	Params     int     `json:"params"`
	Trainable  int     `json:"trainable"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// shippedRun is a notebook run that `make models` ships: the model directory and the
// recipe it was trained with (its mode as divellm finetune records it).
type shippedRun struct {
	model, mode string
	recipe      func() Recipe
}

// shippedRuns are the recipes whose runs ship in models/: full fine-tuning (the alert
// classifier) and the LoRA run (scripts/make-models.sh, block alerts, passes the same
// settings to divellm finetune).
var shippedRuns = []shippedRun{
	{lessons.BERTTinyZHAlerts, "full", FullRecipe},
	{lessons.BERTTinyZHAlertsLoRA, fmt.Sprintf("lora-%d", LoRARank), LoRARecipe},
}

// adapterFiles are the PEFT files of a LoRA run (divellm finetune writes them beside the
// merged weights).
var adapterFiles = []string{"adapter_config.json", "adapter_model.safetensors"}

// fromShipped fills the cache entry of a shipped recipe from its shipped model when `make
// models` trained it with the same settings: the same run, so the notebook need not
// repeat it. Its scores are measured again here; its history is the one divellm finetune
// recorded (train_history.json). A LoRA run's adapter files come along, so the unmerged
// model loads too.
func fromShipped(r Recipe, sh shippedRun, trainN int, test, hard []Example, dir string) (*Result, error) {
	sd, err := lessons.ModelDir(sh.model)
	if err != nil {
		return nil, err
	}
	var sr shippedResult
	if err := readJSON(filepath.Join(sd, "eval_result.json"), &sr); err != nil {
		return nil, err
	}
	if sr.Mode != sh.mode || sr.Epochs != r.Epochs || sr.BatchSize != r.BatchSize || sr.LR != r.LR || sr.MaxLen != r.MaxLen ||
		sr.Seed != int64(r.Seed) || sr.Augment != r.Augment || sr.TrainN != trainN {
		return nil, errors.New("the shipped classifier was trained otherwise")
	}
	var h TrainHistory
	if err := readJSON(filepath.Join(sd, "train_history.json"), &h); err != nil {
		return nil, err
	}
	m, err := llm.Load(sd)
	if err != nil {
		return nil, err
	}
	res := Result{Recipe: r, TrainN: trainN, Labels: ModelLabels(m), TrainHistory: h, Seconds: sr.Seconds, CPUSeconds: sr.CPUSeconds,
		Params: sr.Params, Trainable: sr.Trainable, Dir: dir}
	if res.Test, err = EvaluateModel(m, test, r.MaxLen); err != nil {
		return nil, err
	}
	if res.Hard, err = EvaluateModel(m, hard, r.MaxLen); err != nil {
		return nil, err
	}
	if err := m.Save(dir); err != nil {
		return nil, err
	}
	if r.LoRARank > 0 {
		for _, f := range adapterFiles {
			data, err := fileio.ReadFile(filepath.Join(sd, f), fileio.MaxJSON)
			if err != nil {
				return nil, err
			}
			if err := safetensors.WriteFileInDir(dir, f, data); err != nil {
				return nil, err
			}
		}
	}
	if err := writeJSONAtomic(filepath.Join(dir, "week2_result.json"), res); err != nil {
		return nil, err
	}
	return &res, nil
}

// LoadTrained returns a recipe's fine-tuned model (LoRA merged) and its result, training
// it first if it is not cached.
func LoadTrained(r Recipe) (*llm.Model, *Result, error) {
	res, err := Train(r, nil)
	if err != nil {
		return nil, nil, err
	}
	m, err := llm.Load(res.Dir)
	if err != nil {
		return nil, nil, err
	}
	return m, res, nil
}

// LoadUnmerged returns a LoRA recipe's model as trained: the base model with the
// adapters loaded beside its weights (not merged).
func LoadUnmerged(r Recipe) (*llm.Model, error) {
	if r.LoRARank == 0 {
		return nil, errors.New("not a LoRA recipe")
	}
	res, err := Train(r, nil)
	if err != nil {
		return nil, err
	}
	m, err := baseModel(r.Init, r.Seed)
	if err != nil {
		return nil, err
	}
	if err := m.LoadAdapter(res.Dir); err != nil {
		return nil, err
	}
	return m, nil
}
