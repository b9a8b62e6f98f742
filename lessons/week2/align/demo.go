package align

import (
	"math"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/viz"
)

// DemoSteps is how many steps of the SFT recipe the notebook trains live.
const DemoSteps = 20

// Demo is the live SFT demonstration: the first steps of the notebook's SFT run.
type Demo struct {
	Report Report
	// Recorded is the shipped SFT model's curve (the same recipe run to the end by `make
	// models`), nil when there is none built with this recipe.
	Recorded *Curve
}

// SFTDemo trains a fresh copy of gpt-tiny-zh for the first steps of the notebook's SFT
// recipe (same data, batches and learning-rate schedule as the full run), drawing the
// masked loss live: every training batch, and the held-out answer loss every 5 steps.
// Nothing is saved: it takes a few seconds a step on two busy cores.
func SFTDemo(steps int) (*Demo, error) {
	base, err := lessons.ModelDir(lessons.GPTTinyZH)
	if err != nil {
		return nil, err
	}
	train, held, o, k, err := sftRecipe(base)
	if err != nil {
		return nil, err
	}
	m, err := llm.Load(base)
	if err != nil {
		return nil, err
	}
	live := viz.NewLiveLoss("SFT 的前几步：训练批次与留出集的答案损失", steps)
	o.StopAfter, o.EvalEvery = steps, 5
	o.Progress = func(p llm.Progress) { live.Add(p.Step, p.Loss, p.ValLoss) }
	rep, err := TrainSFT(m, train, held, o)
	if err != nil {
		return nil, err
	}
	if err := live.Done(); err != nil {
		return nil, err
	}
	d := &Demo{Report: *rep}
	if _, s, err := shipped(lessons.GPTTinyZHSFT, k); err == nil {
		d.Recorded = &s.Report.Curve
	}
	return d, nil
}

// MaxDiff is the largest difference between the demonstration's training losses and the
// recorded run's over the same steps (NaN without a recorded run).
func (d *Demo) MaxDiff() float64 {
	if d.Recorded == nil {
		return math.NaN()
	}
	diff := 0.0
	for i, v := range d.Report.Curve.Loss {
		if i < len(d.Recorded.Loss) {
			diff = math.Max(diff, math.Abs(v-d.Recorded.Loss[i]))
		}
	}
	return diff
}
