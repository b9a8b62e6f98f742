package align

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/divellm/divellm/lessons/checkout"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
)

// The notebook's full runs ship as models/gpt-tiny-zh-sft and models/gpt-tiny-zh-dpo,
// made by `make models` (scripts/make-models.sh) with [Build]: the same recipes, data and
// code as [SFT] and [DPO]. Each records its recipe hash (the cache key of the notebook's
// run: the starting weights, the data, the settings) in train_result.json; when it
// matches, [SFT] / [DPO] use the shipped weights and recorded curves instead of training,
// and measure the held-out numbers again from the weights.

// ResultFile is the record a shipped model carries beside its weights.
const ResultFile = "train_result.json"

// Shipped is a shipped model's ResultFile.
type Shipped struct {
	Task    string `json:"task"`    // "sft" or "dpo"
	Recipe  string `json:"recipe"`  // the recipe hash: the notebook's cache key of the run
	Base    string `json:"base"`    // the checkpoint it started from (DPO: also the reference)
	Command string `json:"command"` // how make models builds it
	Data    struct {
		Train           string `json:"train"`
		TrainExamples   int    `json:"train_examples"`
		HeldOut         string `json:"held_out"`
		HeldOutExamples int    `json:"held_out_examples"`
	} `json:"data"`
	Settings struct {
		Epochs    int     `json:"epochs"`
		BatchSize int     `json:"batch_size"`
		LR        float64 `json:"lr"`
		Beta      float64 `json:"beta,omitempty"`
		Seed      uint64  `json:"seed"`
	} `json:"settings"`
	// Report: steps, time, the loss (and DPO margin) curves and the held-out numbers
	// before and after training.
	Report Report `json:"report"`
	// Verdicts counts the greedy answers to the held-out questions by verdict (see
	// [Judge]), before and after this training.
	Verdicts struct {
		Before map[Verdict]int `json:"before"`
		After  map[Verdict]int `json:"after"`
	} `json:"held_out_verdicts"`
}

// ReadShipped reads the ResultFile of the model directory dir.
func ReadShipped(dir string) (*Shipped, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultFile))
	if err != nil {
		return nil, err
	}
	var s Shipped
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, ResultFile), err)
	}
	return &s, nil
}

// sftRecipe is the notebook's SFT run from the checkpoint base: its data, settings and key.
func sftRecipe(base string) (train, held []Example, o Options, k string, err error) {
	if train, held, err = SFTData(); err != nil {
		return
	}
	o = NotebookSFT
	k, err = key("sft", base, train, held, o.Epochs, o.BatchSize, o.LR, o.Seed)
	return
}

// dpoRecipe is the notebook's DPO run from the (SFT) checkpoint base.
func dpoRecipe(base string) (train, held []Pair, o Options, k string, err error) {
	if train, held, err = DPOData(); err != nil {
		return
	}
	o = NotebookDPO
	k, err = key("dpo", base, train, held, o.Epochs, o.BatchSize, o.LR, o.Beta, o.Seed)
	return
}

// trainSFT runs the SFT recipe from base: the held-out answers before, training (progress
// as given), the answers after. It returns the run and the trained model (unsaved).
func trainSFT(base string, o Options, train, held []Example) (*Run, *llm.Model, error) {
	return trainFrom(base, prompts(held), nil, "训练前的回答 (answers before)",
		func(m *llm.Model) (*Report, error) { return TrainSFT(m, train, held, o) })
}

// trainDPO runs the DPO recipe from base (also the reference). before, if it holds the
// base model's answers to the held-out questions, saves generating them again.
func trainDPO(base string, o Options, train, held []Pair, before []string) (*Run, *llm.Model, error) {
	return trainFrom(base, pairPrompts(held), before, "DPO 前的回答 (answers before)",
		func(m *llm.Model) (*Report, error) { return TrainDPO(m, train, held, o) })
}

// trainFrom loads base, answers questions with it (unless before already holds those
// answers), trains it with fit and answers again.
func trainFrom(base string, questions, before []string, beforeLabel string, fit func(*llm.Model) (*Report, error)) (*Run, *llm.Model, error) {
	m, err := llm.Load(base)
	if err != nil {
		return nil, nil, err
	}
	r := &Run{Base: base, Questions: questions, Before: before}
	if len(before) != len(questions) {
		if r.Before, err = answers(m, questions, beforeLabel); err != nil {
			return nil, nil, err
		}
	}
	rep, err := fit(m)
	if err != nil {
		return nil, nil, err
	}
	r.Report = *rep
	if r.After, err = answers(m, questions, "训练后的回答 (answers after)"); err != nil {
		return nil, nil, err
	}
	return r, m, nil
}

// Build trains the notebook's SFT (task "sft", base: gpt-tiny-zh) or DPO run (task "dpo",
// base: the SFT model) and writes it to out as a shipped model: the checkpoint (with
// llm's output-directory policy: out must be new, empty or a checkpoint divellm wrote)
// and its ResultFile. command is recorded as how it was made. progress, if not nil,
// sees every step.
func Build(task, base, out, command string, progress func(llm.Progress)) (*Shipped, error) {
	if _, err := os.Stat(out); err == nil {
		if err := safetensors.CheckReplaceable(out); err != nil {
			return nil, err
		}
	}
	s := &Shipped{Task: task, Base: filepath.Base(filepath.Clean(base)), Command: command}
	var (
		r   *Run
		m   *llm.Model
		err error
	)
	switch task {
	case "sft":
		train, held, o, k, e := sftRecipe(base)
		if e != nil {
			return nil, e
		}
		o.Progress = progress
		if r, m, err = trainSFT(base, o, train, held); err != nil {
			return nil, err
		}
		s.Recipe = k
		s.Data.Train = "lessons/data/sft/train.jsonl + the rejected answers of lessons/data/dpo/train.jsonl (align.SloppyDemos)"
		s.Data.HeldOut = "lessons/data/sft/test.jsonl"
		s.Settings.Epochs, s.Settings.BatchSize, s.Settings.LR, s.Settings.Seed = o.Epochs, o.BatchSize, o.LR, o.Seed
	case "dpo":
		train, held, o, k, e := dpoRecipe(base)
		if e != nil {
			return nil, e
		}
		o.Progress = progress
		if r, m, err = trainDPO(base, o, train, held, nil); err != nil {
			return nil, err
		}
		s.Recipe = k
		s.Data.Train = "lessons/data/dpo/train.jsonl"
		s.Data.HeldOut = "lessons/data/dpo/test.jsonl"
		s.Settings.Epochs, s.Settings.BatchSize, s.Settings.LR, s.Settings.Beta, s.Settings.Seed = o.Epochs, o.BatchSize, o.LR, o.Beta, o.Seed
	default:
		return nil, fmt.Errorf("build: task %q: want sft or dpo", task)
	}
	s.Report = r.Report
	s.Data.TrainExamples, s.Data.HeldOutExamples = r.Report.Train, r.Report.Eval
	if s.Verdicts.Before, err = verdictCounts(r.Before); err != nil {
		return nil, err
	}
	if s.Verdicts.After, err = verdictCounts(r.After); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return nil, err
	}
	if err := m.Save(out); err != nil {
		return nil, err
	}
	return s, safetensors.WriteFileInDir(out, ResultFile, append(b, '\n'))
}

// verdictCounts counts the verdicts of the held-out answers.
func verdictCounts(answers []string) (map[Verdict]int, error) {
	vs, err := Judge(answers)
	if err != nil {
		return nil, err
	}
	n := map[Verdict]int{}
	for _, v := range vs {
		n[v]++
	}
	return n, nil
}

// weightsHash identifies a checkpoint's weights (a shipped model rebuilt with the same
// recipe may differ in the last bits).
func weightsHash(dir string) (string, error) {
	return checkout.FileHash(filepath.Join(dir, "model.safetensors"))
}

// shipped returns the directory and record of the shipped model name when it was built
// with the recipe k, or an error saying why not.
func shipped(name, k string) (string, *Shipped, error) {
	dir, err := lessons.ModelDir(name)
	if err != nil {
		return "", nil, err
	}
	s, err := ReadShipped(dir)
	if err != nil {
		return "", nil, err
	}
	if s.Recipe != k {
		return "", nil, fmt.Errorf("%s was built with another recipe (%s, the notebook's is %s): rebuild it with make models", name, s.Recipe, k)
	}
	return dir, s, nil
}

// fromShippedSFT is the notebook's SFT run taken from the shipped model: its recorded
// curves, and the held-out answers and answer losses of gpt-tiny-zh (base) and of the
// shipped weights, measured now.
func fromShippedSFT(dir string, s *Shipped, base string, held []Example) (*Run, error) {
	m0, err := llm.Load(base)
	if err != nil {
		return nil, err
	}
	m1, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Base: base, Report: s.Report, Questions: prompts(held)}
	if r.Report.EvalLossBefore, err = AnswerLoss(m0, held); err != nil {
		return nil, err
	}
	if r.Report.EvalLossAfter, err = AnswerLoss(m1, held); err != nil {
		return nil, err
	}
	if r.Before, err = answers(m0, r.Questions, "gpt-tiny-zh 的回答 (answers before)"); err != nil {
		return nil, err
	}
	if r.After, err = answers(m1, r.Questions, "SFT 模型的回答 (answers after)"); err != nil {
		return nil, err
	}
	return r, nil
}

// fromShippedDPO is the notebook's DPO run taken from the shipped model: its recorded
// curves, and the held-out pairs' DPO loss, margin and accuracy, and the greedy answers,
// measured now (the answers before are the SFT run's).
func fromShippedDPO(dir string, s *Shipped, sft *Run, held []Pair, o Options) (*Run, error) {
	ref, err := llm.Load(sft.Dir)
	if err != nil {
		return nil, err
	}
	pol, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Base: sft.Dir, Report: s.Report, Questions: pairPrompts(held)}
	before, after, err := EvalDPO(ref, pol, held, o.Beta)
	if err != nil {
		return nil, err
	}
	r.Report.EvalLossBefore, r.Report.EvalMarginBefore = before.Loss, before.Margin
	r.Report.EvalLossAfter, r.Report.EvalMarginAfter, r.Report.EvalAccuracyAfter = after.Loss, after.Margin, after.Accuracy
	if slices.Equal(r.Questions, sft.Questions) && len(sft.After) == len(r.Questions) {
		r.Before = sft.After
	} else if r.Before, err = answers(ref, r.Questions, "DPO 前的回答 (answers before)"); err != nil {
		return nil, err
	}
	if r.After, err = answers(pol, r.Questions, "DPO 模型的回答 (answers after)"); err != nil {
		return nil, err
	}
	return r, nil
}

// EvalDPO measures the held-out pairs with ref as the reference: the DPO loss, the mean
// implicit reward margin and the share of positive margins of ref itself (margin 0, loss
// ln 2) and of the policy pol.
func EvalDPO(ref, pol *llm.Model, held []Pair, beta float64) (before, after *llm.EvalResult, err error) {
	if len(held) == 0 {
		return nil, nil, errors.New("dpo eval: no pairs")
	}
	if beta <= 0 {
		beta = DefaultBeta
	}
	enc, err := EncodePairs(ref, held, 0)
	if err != nil {
		return nil, nil, err
	}
	const batch = 8
	if err := RefLogProbs(ref, enc, batch); err != nil {
		return nil, nil, err
	}
	bs := chunks(enc, batch, func(ps []EncodedPair) *llm.TrainBatch { return PairBatch(ps, ref.Config.PadID, ref.Config.MaxPos) })
	if before, err = ref.EvaluateBatches(llm.DPO, bs, beta); err != nil {
		return nil, nil, err
	}
	if after, err = pol.EvaluateBatches(llm.DPO, bs, beta); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}
