package align

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
)

// cacheVersion changes when a run's recipe changes in a way its parameters do not show.
const cacheVersion = "align-v1"

// The notebook's runs. SFT: gpt-tiny-zh on the ops Q&A training pairs plus the sloppy
// demonstrations ([SloppyDemos]); DPO: from that SFT model, on the preference pairs.
var (
	NotebookSFT = Options{Epochs: 4, BatchSize: 16, LR: 1e-3, Seed: 1}
	NotebookDPO = Options{Epochs: 3, BatchSize: 8, LR: 5e-5, Beta: 0.5, Seed: 1}
)

// Run is a trained model kept on disk with its report and the greedy answers to every
// held-out question before and after training.
type Run struct {
	Dir    string `json:"-"`    // the trained checkpoint
	Base   string `json:"base"` // the checkpoint it started from
	Key    string `json:"key"`
	Report Report `json:"report"`
	// Questions, Before and After: the held-out prompts and the greedy answers of the
	// starting and of the trained model.
	Questions []string `json:"questions"`
	Before    []string `json:"before"`
	After     []string `json:"after"`
	Cached    bool     `json:"-"`
}

// Load loads the run's trained model.
func (r *Run) Load() (*llm.Model, error) { return llm.Load(r.Dir) }

// cacheRoot is .cache/week2/align in the checkout.
func cacheRoot() (string, error) {
	root, err := lessons.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "week2", "align"), nil
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

// cached returns the run stored under key, or trains it with train, stores and returns it.
func cached(key, base string, train func(dir string) (*Run, error)) (*Run, error) {
	root, err := cacheRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, key)
	meta := dir + ".json"
	if b, err := os.ReadFile(meta); err == nil {
		var r Run
		if json.Unmarshal(b, &r) == nil {
			if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
				r.Dir, r.Cached = dir, true
				return &r, nil
			}
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	r, err := train(dir)
	if err != nil {
		return nil, err
	}
	r.Dir, r.Base, r.Key = dir, base, key
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

// answers returns the model's greedy answers to prompts, with a progress bar labelled
// label.
func answers(m *llm.Model, prompts []string, label string) ([]string, error) {
	bar := display.NewProgress(len(prompts), label)
	out := make([]string, len(prompts))
	for i, p := range prompts {
		a, err := Answer(m, p)
		if err != nil {
			return nil, err
		}
		out[i] = a
		bar.Update(i+1, nil)
	}
	return out, nil
}

// Answer is the model's greedy answer to prompt (问：…答：): at most 60 tokens, cut at the
// end-of-text token or at a new line.
func Answer(m *llm.Model, prompt string) (string, error) {
	if m.Tokenizer == nil {
		return "", errors.New("the model has no tokenizer")
	}
	n := min(60, m.Config.MaxPos-len(m.Tokenizer.Encode(prompt)))
	if n < 1 {
		return "", errors.New("the prompt fills the model's positions")
	}
	g, err := m.Generate(prompt, llm.GenerateOptions{MaxTokens: n, StopAtEOS: true})
	if err != nil {
		return "", err
	}
	text := g.Text
	if eos := m.Tokenizer.Specials().EOS; eos >= 0 {
		text, _, _ = strings.Cut(text, m.Tokenizer.IDToToken(eos))
	}
	text, _, _ = strings.Cut(text, "\n")
	return strings.TrimSpace(text), nil
}

// SFT returns the notebook's SFT run (NotebookSFT options, SFTData) of the shipped
// gpt-tiny-zh: trained once (about two minutes on two cores, with a progress bar) and
// then loaded from .cache/week2/align.
func SFT() (*Run, error) {
	base, err := lessons.ModelDir(lessons.GPTTinyZH)
	if err != nil {
		return nil, err
	}
	train, held, err := SFTData()
	if err != nil {
		return nil, err
	}
	o := NotebookSFT
	k, err := key("sft", base, train, held, o.Epochs, o.BatchSize, o.LR, o.Seed)
	if err != nil {
		return nil, err
	}
	return cached(k, base, func(dir string) (*Run, error) {
		m, err := llm.Load(base)
		if err != nil {
			return nil, err
		}
		r := &Run{Questions: prompts(held)}
		if r.Before, err = answers(m, r.Questions, "训练前的回答 (answers before)"); err != nil {
			return nil, err
		}
		o.Progress = progressBar("SFT")
		rep, err := TrainSFT(m, train, held, o)
		if err != nil {
			return nil, err
		}
		r.Report = *rep
		if r.After, err = answers(m, r.Questions, "训练后的回答 (answers after)"); err != nil {
			return nil, err
		}
		return r, m.Save(dir)
	})
}

// DPO returns the notebook's DPO run (NotebookDPO options, DPOData), starting from the SFT
// run's model, which is also the reference: trained once, then loaded from the cache.
func DPO() (*Run, error) {
	sft, err := SFT()
	if err != nil {
		return nil, err
	}
	train, held, err := DPOData()
	if err != nil {
		return nil, err
	}
	o := NotebookDPO
	k, err := key("dpo", sft.Dir, train, held, o.Epochs, o.BatchSize, o.LR, o.Beta, o.Seed)
	if err != nil {
		return nil, err
	}
	return cached(k, sft.Dir, func(dir string) (*Run, error) {
		m, err := llm.Load(sft.Dir)
		if err != nil {
			return nil, err
		}
		r := &Run{Questions: pairPrompts(held)}
		// The starting policy is the SFT model: when the questions are the SFT run's, its
		// answers after SFT are the answers before DPO (greedy decoding is deterministic).
		if slices.Equal(r.Questions, sft.Questions) && len(sft.After) == len(r.Questions) {
			r.Before = sft.After
		} else if r.Before, err = answers(m, r.Questions, "DPO 前的回答 (answers before)"); err != nil {
			return nil, err
		}
		o.Progress = progressBar("DPO")
		rep, err := TrainDPO(m, train, held, o)
		if err != nil {
			return nil, err
		}
		r.Report = *rep
		if r.After, err = answers(m, r.Questions, "训练后的回答 (answers after)"); err != nil {
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
