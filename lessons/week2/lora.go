package week2

import (
	"errors"
	"fmt"
	"math"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
)

// LoRAShapeTable explains the adapter of one d×d attention projection at rank r: the
// frozen W, the trained A (r×d, random) and B (d×r, zero at the start), the update
// ΔW = (α/r)·B·A, and their parameter counts.
func LoRAShapeTable(d, r int, alpha float64) (headers []string, rows [][]string, err error) {
	headers = []string{"矩阵 matrix", "形状 shape", "参数 parameters", "训练? trained"}
	rows = [][]string{
		{"W（冻结 frozen）", fmt.Sprintf("%d × %d", d, d), fmt.Sprint(d * d), "否 no"},
		{"A（随机初始化 random）", fmt.Sprintf("%d × %d", r, d), fmt.Sprint(r * d), "是 yes"},
		{"B（初始为 0 zeros）", fmt.Sprintf("%d × %d", d, r), fmt.Sprint(d * r), "是 yes"},
		{fmt.Sprintf("ΔW = (α/r)·B·A, α/r = %g", alpha/float64(r)), fmt.Sprintf("%d × %d（秩 ≤ %d）", d, d, r), "—", "—"},
		{"A + B 占 W 的比例", "", fmt.Sprintf("%.2f%%", 100*float64(2*r*d)/float64(d*d)), ""},
	}
	return headers, rows, nil
}

// TrainingMemory estimates the bytes a run holds for training, in float32: every weight,
// plus a gradient and AdamW's two moments for each trainable one.
func TrainingMemory(params, trainable int) int64 {
	return 4 * (int64(params) + 3*int64(trainable))
}

// CompareTable puts full fine-tuning and LoRA side by side: trainable parameters, scores on
// both test splits, training time and the memory estimate of [TrainingMemory].
func CompareTable(full, lora *Result) (headers []string, rows [][]string, err error) {
	headers = []string{"", "全量微调 full", fmt.Sprintf("LoRA r=%d", lora.Recipe.LoRARank)}
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	row := func(name string, f func(r *Result) string) []string { return []string{name, f(full), f(lora)} }
	rows = [][]string{
		row("可训练参数 trainable", func(r *Result) string { return fmt.Sprintf("%d (%s)", r.Trainable, pct(r.TrainableShare())) }),
		row("学习率 lr", func(r *Result) string { return fmt.Sprint(r.Recipe.LR) }),
		row("标准测试集 accuracy / macro-F1", func(r *Result) string { return pct(r.Test.Accuracy) + " / " + pct(r.Test.MacroF1) }),
		row("困难测试集 accuracy / macro-F1", func(r *Result) string { return pct(r.Hard.Accuracy) + " / " + pct(r.Hard.MacroF1) }),
		row("训练时间 wall (CPU)", func(r *Result) string { return fmt.Sprintf("%.0f s (%.0f s)", r.Seconds, r.CPUSeconds) }),
		row("训练内存估计 memory", func(r *Result) string { return mb(TrainingMemory(r.Params, r.Trainable)) }),
	}
	return headers, rows, nil
}

// MergeCheck runs the hard alerts through a LoRA model as trained (base weights and
// adapters side by side) and through its merged copy (W + (α/r)·B·A saved as plain
// weights), and returns the largest difference of their class probabilities.
func MergeCheck(unmerged, merged *llm.Model) (float64, error) {
	if unmerged.LoRA == nil {
		return 0, errors.New("the first model has no adapters")
	}
	hard, err := data.Alerts("hard")
	if err != nil {
		return 0, err
	}
	texts := make([]string, len(hard))
	for i, a := range hard {
		texts[i] = a.Text
	}
	a, err := Probs(unmerged, texts, MaxLen)
	if err != nil {
		return 0, err
	}
	b, err := Probs(merged, texts, MaxLen)
	if err != nil {
		return 0, err
	}
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d, nil
}
