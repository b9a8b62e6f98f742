package align

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
)

// cacheVersion changes when a run's recipe changes in a way its parameters do not show.
const cacheVersion = "align-v2"

// The notebook's runs. SFT: gpt-tiny-zh on the ops Q&A training pairs plus the sloppy
// demonstrations ([SloppyDemos]); DPO: from that SFT model, on the preference pairs.
var (
	NotebookSFT = Options{Epochs: 4, BatchSize: 16, LR: 1e-3, Seed: 1}
	NotebookDPO = Options{Epochs: 3, BatchSize: 8, LR: 5e-5, Beta: 0.5, Seed: 1}
)

// Run is a trained model with its report and the greedy answers to every held-out
// question before and after training. Its record is kept under .cache/week2/align.
type Run struct {
	Dir    string `json:"-"`    // the trained checkpoint
	Base   string `json:"base"` // the checkpoint it started from
	Key    string `json:"key"`  // the recipe hash
	Report Report `json:"report"`
	// Questions, Before and After: the held-out prompts and the greedy answers of the
	// starting and of the trained model.
	Questions []string `json:"questions"`
	Before    []string `json:"before"`
	After     []string `json:"after"`
	// Shipped names the shipped model the run is (lessons.GPTTinyZHSFT, …) when its
	// recorded recipe is this one, and Weights identifies its weights; empty for a run
	// trained in the notebook.
	Shipped string `json:"shipped,omitempty"`
	Weights string `json:"weights,omitempty"`
	Cached  bool   `json:"-"`
}

// Load loads the run's trained model.
func (r *Run) Load() (*llm.Model, error) { return llm.Load(r.Dir) }

// cacheRoot is .cache/week2/align in the checkout (see [checkout.CacheDir]).
func cacheRoot() (string, error) {
	return checkout.CacheDir("week2", "align")
}

// key hashes everything a run depends on.
func key(task string, base string, parts ...any) (string, error) {
	w, err := os.ReadFile(filepath.Join(base, "model.safetensors"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d:", cacheVersion, task, len(w))
	h.Write(w)
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\x00%d:", len(b))
		h.Write(b)
	}
	return task + "-" + hex.EncodeToString(h.Sum(nil))[:20], nil
}

// cached returns the run stored under key; or the shipped model name evaluated by
// fromShipped when it was built with this recipe; or else trains the run with train
// (which saves the model into dir). The result is stored under key for the next cell.
func cached(key, base, name string, fromShipped func(dir string, s *Shipped) (*Run, error), train func(dir string) (*Run, error)) (*Run, error) {
	root, err := cacheRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, key)
	meta := dir + ".json"
	if b, err := os.ReadFile(meta); err == nil {
		var r Run
		if json.Unmarshal(b, &r) == nil && r.Key == key {
			if r.Shipped == "" {
				if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
					r.Dir, r.Cached = dir, true
					return &r, nil
				}
			} else if sd, err := lessons.ModelDir(r.Shipped); err == nil {
				if w, err := weightsHash(sd); err == nil && w == r.Weights {
					r.Dir, r.Cached = sd, true
					return &r, nil
				}
			}
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	var r *Run
	if sd, s, err := shipped(name, key); err == nil {
		if r, err = fromShipped(sd, s); err != nil {
			return nil, err
		}
		r.Shipped = name
		if r.Weights, err = weightsHash(sd); err != nil {
			return nil, err
		}
	} else {
		if r, err = train(dir); err != nil {
			return nil, err
		}
		r.Dir = dir
	}
	r.Base, r.Key = base, key
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	tmp := meta + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, err
	}
	return r, os.Rename(tmp, meta)
}

// SloppyDemos are the notebook's imperfect demonstrations: for every training preference
// pair, its rejected answer (wrong, vague, unsafe or off-topic) as if an annotator had
// written it. Real demonstration data has such lines; SFT imitates them as faithfully as
// the good ones, which is what preference tuning then corrects.
func SloppyDemos() ([]Example, error) {
	ps, err := data.DPO("train")
	if err != nil {
		return nil, err
	}
	out := make([]Example, len(ps))
	for i, p := range ps {
		out[i] = Example{Prompt: p.Prompt(), Answer: p.Rejected}
	}
	return out, nil
}

// SFTData returns the notebook's SFT training set (the ops Q&A pairs and the sloppy
// demonstrations) and the held-out set (the SFT test split: phrasings and names that no
// training question uses).
func SFTData() (train, heldOut []Example, err error) {
	tr, err := data.SFT("train")
	if err != nil {
		return nil, nil, err
	}
	te, err := data.SFT("test")
	if err != nil {
		return nil, nil, err
	}
	sloppy, err := SloppyDemos()
	if err != nil {
		return nil, nil, err
	}
	return append(FromSFT(tr), sloppy...), FromSFT(te), nil
}

// DPOData returns the preference pairs: training, and held out (the SFT test questions).
func DPOData() (train, heldOut []Pair, err error) {
	tr, err := data.DPO("train")
	if err != nil {
		return nil, nil, err
	}
	te, err := data.DPO("test")
	if err != nil {
		return nil, nil, err
	}
	return FromDPO(tr), FromDPO(te), nil
}

// progressBar returns a Progress callback drawing a bar (in a notebook; a line every few
// seconds elsewhere) for a run of about steps steps.
func progressBar(label string) func(llm.Progress) {
	var bar *display.Progress
	return func(p llm.Progress) {
		if bar == nil {
			bar = display.NewProgress(p.Steps, label)
		}
		f := map[string]float64{"loss": p.Loss}
		if !math.IsNaN(p.ValLoss) {
			f["held-out"] = p.ValLoss
		}
		bar.Update(p.Step, f)
	}
}

// SFT returns the notebook's SFT run (NotebookSFT options, SFTData) of the shipped
// gpt-tiny-zh. It is the shipped model gpt-tiny-zh-sft when `make models` built that with
// this recipe (its curves as recorded, the held-out answers and losses measured now,
// about half a minute on two cores); otherwise it is trained here (a few minutes, with a
// progress bar). Either way the next call loads it from .cache/week2/align.
func SFT() (*Run, error) {
	base, err := lessons.ModelDir(lessons.GPTTinyZH)
	if err != nil {
		return nil, err
	}
	train, held, o, k, err := sftRecipe(base)
	if err != nil {
		return nil, err
	}
	return cached(k, base, lessons.GPTTinyZHSFT,
		func(dir string, s *Shipped) (*Run, error) { return fromShippedSFT(dir, s, base, held) },
		func(dir string) (*Run, error) {
			o.Progress = progressBar("SFT")
			r, m, err := trainSFT(base, o, train, held)
			if err != nil {
				return nil, err
			}
			return r, m.Save(dir)
		})
}

// DPO returns the notebook's DPO run (NotebookDPO options, DPOData), starting from the SFT
// run's model, which is also the reference: the shipped gpt-tiny-zh-dpo when it was built
// with this recipe from that model, otherwise trained here; then loaded from the cache.
func DPO() (*Run, error) {
	sft, err := SFT()
	if err != nil {
		return nil, err
	}
	train, held, o, k, err := dpoRecipe(sft.Dir)
	if err != nil {
		return nil, err
	}
	return cached(k, sft.Dir, lessons.GPTTinyZHDPO,
		func(dir string, s *Shipped) (*Run, error) { return fromShippedDPO(dir, s, sft, held, o) },
		func(dir string) (*Run, error) {
			o.Progress = progressBar("DPO")
			// The starting policy is the SFT model: when the questions are the SFT run's, its
			// answers after SFT are the answers before DPO (greedy decoding is deterministic).
			var before []string
			if slices.Equal(pairPrompts(held), sft.Questions) {
				before = sft.After
			}
			r, m, err := trainDPO(sft.Dir, o, train, held, before)
			if err != nil {
				return nil, err
			}
			return r, m.Save(dir)
		})
}

func prompts(es []Example) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Prompt
	}
	return out
}

func pairPrompts(ps []Pair) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Prompt
	}
	return out
}

// LossChart draws the run's training loss per step and its held-out loss (SFT: the
// answer-only loss; DPO: the DPO loss) measured every few steps.
func (r *Run) LossChart(title string) *Figure {
	c := r.Report.Curve
	steps := make([]float64, len(c.Loss))
	for i := range steps {
		steps[i] = float64(i + 1)
	}
	return LineChart(title, "步 (step)", "损失 (loss)",
		Line{Name: "训练 (train batch)", X: steps, Y: c.Loss},
		Line{Name: "留出集 (held-out)", X: ints(c.EvalSteps), Y: c.EvalLoss, Dots: true})
}

// MarginChart draws a DPO run's implicit reward margin β·Δ: per training batch and on the
// held-out pairs.
func (r *Run) MarginChart(title string) *Figure {
	c := r.Report.Curve
	steps := make([]float64, len(c.Margin))
	for i := range steps {
		steps[i] = float64(i + 1)
	}
	return LineChart(title, "步 (step)", "奖励差 (reward margin)",
		Line{Name: "训练 (train batch)", X: steps, Y: c.Margin},
		Line{Name: "留出集 (held-out)", X: ints(c.EvalSteps), Y: c.EvalMargin, Dots: true})
}

func ints(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
