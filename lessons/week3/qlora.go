package week3

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/viz"
)

// QLoRA settings: rank-8 adapters on every linear layer (α = 16), the classifier head
// trained too, batches of 32.
const (
	QLoRARank  = 8
	QLoRASteps = 300
	QLoRALR    = 3e-3
	NF4Block   = 64
)

// QLoRARow is one LoRA run.
type QLoRARow struct {
	Base         string  // "fp32" or "NF4"
	BaseLinearMB float64 // the frozen block linear weights as stored
	OtherMB      float64 // embeddings, LayerNorms, biases, pooler (float32 either way)
	Trainable    int     // adapter + head parameters
	Test, Hard   float64 // accuracy %
	Seconds      float64 // training time
}

// QLoRAStudy is the cached outcome of [StudyQLoRA].
type QLoRAStudy struct {
	Steps, Rank int
	Rows        []QLoRARow
}

// StudyQLoRA fine-tunes rank-8 LoRA adapters (all linear layers) and a classifier head on
// bert-tiny-zh for the alert labels twice: on the float32 base and on the base with every
// block linear weight in NF4 (blocks of 64), frozen. Cached by the base's weights.
func StudyQLoRA() (*QLoRAStudy, error) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(dir)
	if err != nil {
		return nil, err
	}
	k := key(mk, QLoRARank, QLoRASteps, QLoRALR, NF4Block, MaxLen, "v1")
	return cached("qlora", k, func() (*QLoRAStudy, error) {
		st := &QLoRAStudy{Steps: QLoRASteps, Rank: QLoRARank}
		for _, base := range []string{"fp32", "NF4"} {
			r, err := qloraRun(dir, base)
			if err != nil {
				return nil, fmt.Errorf("week3: QLoRA on the %s base: %w", base, err)
			}
			st.Rows = append(st.Rows, r)
		}
		return st, nil
	})
}

func qloraRun(dir, base string) (QLoRARow, error) {
	row := QLoRARow{Base: base}
	m, err := llm.Load(dir)
	if err != nil {
		return row, err
	}
	var linear float64
	for _, l := range m.Config.Linears() {
		linear += float64(4 * l.In * l.Out)
	}
	row.BaseLinearMB = linear / 1e6
	if base == "NF4" {
		res, err := calib.Quantize(m, calib.Options{Method: calib.NF4, NF4Block: NF4Block})
		if err != nil {
			return row, err
		}
		m = res.Model
		row.BaseLinearMB = float64(res.QuantBytes) / 1e6
	}
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		return row, err
	}
	if err := m.AddLoRA(llm.LoRAConfig{Rank: QLoRARank, Targets: "all-linear", Seed: 3}); err != nil {
		return row, err
	}
	var other float64
	for _, n := range m.Weights.Names() {
		if m.LoRATrainable(n) || isBlockLinear(m.Config, n) {
			if m.LoRATrainable(n) {
				row.Trainable += prod(m.Weights.Shape(n))
			}
			continue
		}
		other += float64(4 * prod(m.Weights.Shape(n)))
	}
	row.OtherMB = other / 1e6
	d, err := TrainClassifier(m, llm.TrainConfig{Steps: QLoRASteps, LR: QLoRALR, Seed: 1, Trainable: m.LoRATrainable})
	if err != nil {
		return row, err
	}
	row.Seconds = d.Seconds()
	test, err := data.Alerts("test")
	if err != nil {
		return row, err
	}
	hard, err := data.Alerts(data.HardSplit)
	if err != nil {
		return row, err
	}
	if row.Test, err = Accuracy(m, test); err != nil {
		return row, err
	}
	if row.Hard, err = Accuracy(m, hard); err != nil {
		return row, err
	}
	return row, nil
}

func isBlockLinear(c llm.Config, name string) bool {
	base, ok := strings.CutSuffix(name, ".weight")
	if !ok {
		return false
	}
	for _, l := range c.Linears() {
		if l.Module == base {
			return true
		}
	}
	return false
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// Table is the comparison of the two runs.
func (s *QLoRAStudy) Table() (headers []string, rows [][]string) {
	headers = []string{"底座 base", "冻结线性层 MB", "其余 fp32 MB", "可训练参数 trainable", "测试集 test %", "困难集 hard %", "训练 s"}
	for _, r := range s.Rows {
		rows = append(rows, []string{r.Base, fmt.Sprintf("%.3f", r.BaseLinearMB), fmt.Sprintf("%.3f", r.OtherMB), fmt.Sprint(r.Trainable),
			fmt.Sprintf("%.2f", r.Test), fmt.Sprintf("%.2f", r.Hard), fmt.Sprintf("%.0f", r.Seconds)})
	}
	return headers, rows
}

// Chart draws accuracy and base size of both runs.
func (s *QLoRAStudy) Chart() *viz.Chart {
	var labels []string
	var t, h, mb []float64
	for _, r := range s.Rows {
		labels = append(labels, "LoRA on "+r.Base)
		t, h, mb = append(t, round(r.Test, 2)), append(h, round(r.Hard, 2)), append(mb, round(r.BaseLinearMB, 3))
	}
	return viz.Bars(labels, viz.Series{Name: "测试集 test %", Values: t}, viz.Series{Name: "困难集 hard %", Values: h}, viz.Series{Name: "冻结线性层 MB", Values: mb}).
		Title("LoRA：fp32 底座 vs NF4 底座")
}
