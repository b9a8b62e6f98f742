package week2

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/viz"
)

// Say shows one line of text in the cell, in order with the cell's tables and charts.
func Say(format string, args ...any) error { return display.Text(fmt.Sprintf(format, args...)) }

// ShowTable shows a table in the cell (printed aligned outside a notebook).
func ShowTable(headers []string, rows [][]string, err error) error {
	if err != nil {
		return err
	}
	return display.Table(headers, rows)
}

// LabelsZH returns the Chinese names of the alert classes, in class order.
func LabelsZH() []string {
	var out []string
	for _, l := range data.AlertLabels() {
		zh, _ := data.AlertLabelZH(l)
		out = append(out, zh)
	}
	return out
}

// TrainLive trains a recipe with a live chart of the training loss and the test-split loss
// (redrawn in place as the steps come). A cached run draws its recorded history at once.
func TrainLive(r Recipe, title string) (*Result, error) {
	live := viz.NewLiveLoss(title, 0)
	trained := false
	res, err := Train(r, func(s Step) {
		trained = true
		live.Add(s.Step, s.Loss, s.EvalLoss)
	})
	if err != nil {
		return nil, err
	}
	if !trained {
		ev := map[int]float64{}
		for _, e := range res.Evals {
			ev[e.Step] = e.Loss
		}
		for i, l := range res.Losses {
			v, ok := ev[i+1]
			if !ok {
				v = math.NaN()
			}
			live.Add(i+1, l, v)
		}
	}
	return res, live.Done()
}

// EvalChart draws the test-split accuracy and macro-F1 at each evaluation of a run.
func EvalChart(res *Result) *viz.Chart {
	var x []string
	var acc, f1 []float64
	for _, e := range res.Evals {
		x = append(x, fmt.Sprint(e.Step))
		acc = append(acc, e.Accuracy)
		f1 = append(f1, e.MacroF1)
	}
	return viz.Lines(x, "步 (step)", "标准测试集", viz.Series{Name: "accuracy", Values: acc}, viz.Series{Name: "macro-F1", Values: f1}).
		Title("训练中的标准测试集 accuracy 与 macro-F1")
}

// CurvePoint is one point of the learning curves.
type CurvePoint struct {
	Init     string
	Fraction float64
	TrainN   int
	Epochs   int
	Test     Metrics
	Hard     Metrics
}

// LiveCurveFraction is the share of labels whose pair of runs the notebook re-runs live
// when the curves are recorded: the headline comparison.
const LiveCurveFraction = 0.05

// CurveCheck is one re-run point: the recorded value and the one just computed.
type CurveCheck struct {
	Recorded, Live CurveRecord
}

// LearningCurveSet is what LearningCurves returns: the points (recorded by `make models`
// when models/bert-tiny-zh-alerts/curves.json matches the current recipes, base weights
// and data, else trained here), and for recorded curves the live re-run of the
// LiveCurveFraction pair.
type LearningCurveSet struct {
	Points   []CurvePoint
	Recorded bool         // the points come from curves.json
	Why      string       // why curves.json was not used (empty when it was)
	Checks   []CurveCheck // recorded vs live at LiveCurveFraction (only when Recorded)
}

// CheckLines says, for each re-run point, the recorded and live macro-F1 and accuracy on
// both splits and their differences (live − recorded).
func (s *LearningCurveSet) CheckLines() []string {
	if !s.Recorded {
		return []string{"曲线没有记录（" + s.Why + "），上面每个点都是刚训练（或从缓存读出）的。"}
	}
	var out []string
	for _, c := range s.Checks {
		r, l := c.Recorded, c.Live
		out = append(out, fmt.Sprintf("%s %g%%：标准测试集 macro-F1 记录 %.4f / 现算 %.4f（差 %+.4f），accuracy 记录 %.4f / 现算 %.4f（差 %+.4f）；"+
			"困难测试集 macro-F1 记录 %.4f / 现算 %.4f（差 %+.4f）",
			r.Init, 100*r.Fraction, r.Test.MacroF1, l.Test.MacroF1, l.Test.MacroF1-r.Test.MacroF1,
			r.Test.Accuracy, l.Test.Accuracy, l.Test.Accuracy-r.Test.Accuracy,
			r.Hard.MacroF1, l.Hard.MacroF1, l.Hard.MacroF1-r.Hard.MacroF1))
	}
	return out
}

// LearningCurves returns the learning curves of bert-tiny-zh and of a randomly initialised
// model of its shape at every fraction of CurveFractions. When `make models` recorded
// them (models/bert-tiny-zh-alerts/curves.json, by lessons/week2/curvesbuild) for the
// current recipes, base weights and data, the recorded points are used and only the
// LiveCurveFraction pair is trained (or loaded from .cache/week2) and compared; otherwise
// every point is trained (or loaded). say, if set, is told which run starts.
func LearningCurves(say func(string)) (*LearningCurveSet, error) {
	path := ""
	if dir, err := lessons.ModelDir(lessons.BERTTinyZHAlerts); err == nil {
		path = filepath.Join(dir, CurvesFile)
	}
	want, err := CurvesHash()
	if err != nil {
		return nil, err
	}
	return learningCurves(path, want, func(r Recipe) (*Result, error) { return Train(r, nil) }, say)
}

// learningCurves is LearningCurves with the recorded file, its expected hash and the
// trainer given.
func learningCurves(path, want string, train func(Recipe) (*Result, error), say func(string)) (*LearningCurveSet, error) {
	set := &LearningCurveSet{}
	var rec *Curves
	var err error
	if path == "" {
		err = errors.New("no shipped classifier directory")
	} else {
		rec, err = recordedCurves(path, want)
	}
	if err != nil {
		set.Why = err.Error()
		if errors.Is(err, os.ErrNotExist) {
			set.Why = CurvesFile + " 不存在"
		} else if errors.Is(err, errStaleCurves) {
			set.Why = CurvesFile + " 的哈希与当前的配方、基础权重或数据不符"
		}
	}
	run := func(r Recipe) (CurveRecord, error) {
		if say != nil {
			say(fmt.Sprintf("%s, %g%% 的标签 (labels), %d 轮 (epochs)", r.Init, 100*r.Fraction, r.Epochs))
		}
		res, err := train(r)
		if err != nil {
			return CurveRecord{}, err
		}
		return record(r, res), nil
	}
	if rec != nil {
		set.Recorded = true
		for _, p := range rec.Points {
			set.Points = append(set.Points, CurvePoint{Init: p.Init, Fraction: p.Fraction, TrainN: p.TrainN, Epochs: p.Epochs, Test: p.Test, Hard: p.Hard})
			if p.Fraction == LiveCurveFraction {
				live, err := run(CurveRecipe(p.Init, p.Fraction))
				if err != nil {
					return nil, err
				}
				set.Checks = append(set.Checks, CurveCheck{Recorded: p, Live: live})
			}
		}
		return set, nil
	}
	for _, init := range []string{Pretrained, Scratch} {
		for _, f := range CurveFractions {
			p, err := run(CurveRecipe(init, f))
			if err != nil {
				return nil, err
			}
			set.Points = append(set.Points, CurvePoint{Init: init, Fraction: f, TrainN: p.TrainN, Epochs: p.Epochs, Test: p.Test, Hard: p.Hard})
		}
	}
	return set, nil
}

// CurveChart draws macro-F1 against the share of labels, one line per start (pretrained,
// scratch), on the split "test" or "hard".
func CurveChart(points []CurvePoint, split string) *viz.Chart {
	var x []string
	byInit := map[string][]float64{}
	for _, p := range points {
		if p.Init == Pretrained {
			x = append(x, fmt.Sprintf("%g%% (%d 条)", 100*p.Fraction, p.TrainN))
		}
		m := p.Test
		if split == "hard" {
			m = p.Hard
		}
		byInit[p.Init] = append(byInit[p.Init], m.MacroF1)
	}
	name := map[string]string{"test": "标准测试集", "hard": "困难测试集"}[split]
	return viz.Lines(x, "有标签的训练数据 (labels)", "macro-F1",
		viz.Series{Name: "预训练 pretrained", Values: byInit[Pretrained]},
		viz.Series{Name: "从零开始 scratch", Values: byInit[Scratch]}).
		Title("macro-F1 随标签比例变化（" + name + "）")
}

// CurveTable lists the learning-curve points: macro-F1 on both splits for both starts, and
// the pretrained − scratch gap.
func CurveTable(points []CurvePoint) (headers []string, rows [][]string, err error) {
	headers = []string{"标签比例", "训练条数", "轮数", "预训练 test", "从零 test", "差 Δ", "预训练 hard", "从零 hard", "差 Δ"}
	scratch := map[float64]CurvePoint{}
	for _, p := range points {
		if p.Init == Scratch {
			scratch[p.Fraction] = p
		}
	}
	pts := func(v float64) string { return fmt.Sprintf("%.1f", 100*v) }
	for _, p := range points {
		if p.Init != Pretrained {
			continue
		}
		s, ok := scratch[p.Fraction]
		if !ok {
			return nil, nil, fmt.Errorf("no scratch run at %g", p.Fraction)
		}
		rows = append(rows, []string{fmt.Sprintf("%g%%", 100*p.Fraction), fmt.Sprint(p.TrainN), fmt.Sprint(p.Epochs),
			pts(p.Test.MacroF1), pts(s.Test.MacroF1), fmt.Sprintf("%+.1f", 100*(p.Test.MacroF1-s.Test.MacroF1)),
			pts(p.Hard.MacroF1), pts(s.Hard.MacroF1), fmt.Sprintf("%+.1f", 100*(p.Hard.MacroF1-s.Hard.MacroF1))})
	}
	return headers, rows, nil
}

// Misclassified returns the alerts of a split that the model gets wrong, the most
// confident mistakes first (at most k): text, kind (hard split), true and predicted class
// and the predicted probability.
func Misclassified(m *llm.Model, split string, k int) (headers []string, rows [][]string, err error) {
	as, err := data.Alerts(split)
	if err != nil {
		return nil, nil, err
	}
	texts := make([]string, len(as))
	for i, a := range as {
		texts[i] = a.Text
	}
	probs, err := Probs(m, texts, MaxLen)
	if err != nil {
		return nil, nil, err
	}
	labels := ModelLabels(m)
	type miss struct {
		i, pred int
		p       float64
	}
	var misses []miss
	for i, p := range probs {
		if pred := argmax(p); labels[pred] != as[i].Label {
			misses = append(misses, miss{i, pred, p[pred]})
		}
	}
	sort.SliceStable(misses, func(a, b int) bool { return misses[a].p > misses[b].p })
	zh := func(l string) string { s, _ := data.AlertLabelZH(l); return s }
	for _, ms := range misses[:min(k, len(misses))] {
		a := as[ms.i]
		rows = append(rows, []string{a.Text, a.Kind, zh(a.Label), zh(labels[ms.pred]), fmt.Sprintf("%.2f", ms.p)})
	}
	return []string{"报警 alert", "难度 kind", "真实 true", "预测 predicted", "概率 p"}, rows, nil
}

// KindAccuracy returns the model's accuracy on each kind of the hard split.
func KindAccuracy(m *llm.Model) (headers []string, rows [][]string, err error) {
	as, err := data.Alerts("hard")
	if err != nil {
		return nil, nil, err
	}
	texts := make([]string, len(as))
	for i, a := range as {
		texts[i] = a.Text
	}
	pred, err := Predict(m, texts, MaxLen)
	if err != nil {
		return nil, nil, err
	}
	labels := ModelLabels(m)
	right, n := map[string]int{}, map[string]int{}
	for i, a := range as {
		n[a.Kind]++
		if labels[pred[i]] == a.Label {
			right[a.Kind]++
		}
	}
	for _, k := range data.AlertKinds() {
		rows = append(rows, []string{k, kindZH[k], fmt.Sprintf("%d / %d", right[k], n[k]), fmt.Sprintf("%.1f%%", 100*float64(right[k])/float64(n[k]))})
	}
	return []string{"难度 kind", "含义", "对 / 总", "accuracy"}, rows, nil
}

// Must returns v, or panics with err: for notebook cells, where an error should stop the
// cell with its message.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Must2 is [Must] for a function with two results.
func Must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// CurveVerdict says in one line per split, from the measured points, at which label
// shares the pretrained start beats the scratch one and by how much (macro-F1 points), so
// the notebook's prose never has to quote a number.
func CurveVerdict(points []CurvePoint) []string {
	scratch := map[float64]CurvePoint{}
	for _, p := range points {
		if p.Init == Scratch {
			scratch[p.Fraction] = p
		}
	}
	var out []string
	for _, split := range []string{"test", "hard"} {
		var parts []string
		wins := 0
		n := 0
		for _, p := range points {
			s, ok := scratch[p.Fraction]
			if p.Init != Pretrained || !ok {
				continue
			}
			a, b := p.Test.MacroF1, s.Test.MacroF1
			if split == "hard" {
				a, b = p.Hard.MacroF1, s.Hard.MacroF1
			}
			n++
			if a > b {
				wins++
			}
			parts = append(parts, fmt.Sprintf("%g%%：%+.1f", 100*p.Fraction, 100*(a-b)))
		}
		name := map[string]string{"test": "标准测试集", "hard": "困难测试集"}[split]
		out = append(out, fmt.Sprintf("%s：预训练在 %d 个比例中的 %d 个上领先；预训练 − 从零 (macro-F1 百分点) %s", name, n, wins, strings.Join(parts, "，")))
	}
	return out
}
