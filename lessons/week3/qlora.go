package week3

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/safetensors"
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
	// Shipped is true when the adapters came from models/[QLoRAModel]-{fp32,nf4} (trained
	// by scripts/make-models.sh with the same code and settings; Seconds is then the
	// training time recorded there) and false when they were trained in this checkout.
	Shipped bool
	Rows    []QLoRARow
}

// QLoRAModel is the stem of the shipped adapter directories: QLoRAModel+"-fp32" and
// QLoRAModel+"-nf4" (PEFT layout, plus qlora.json with the recipe and the training row).
const QLoRAModel = "bert-tiny-zh-qlora"

// qloraBases are the two bases, with the suffix of their shipped directory.
var qloraBases = []struct{ Base, Suffix string }{{"fp32", "-fp32"}, {"NF4", "-nf4"}}

// QLoRARecipe identifies a QLoRA run: the base weights' hash and every setting.
func QLoRARecipe(baseHash string) string {
	return key(baseHash, QLoRARank, QLoRASteps, QLoRALR, NF4Block, MaxLen, "v1")
}

// qloraShipped is qlora.json in a shipped adapter directory.
type qloraShipped struct {
	Command string
	Recipe  string
	Row     QLoRARow
}

// shippedQLoRA returns the shipped adapter directory of a base and its record, or ok=false
// when the checkout does not ship it or it was trained with another recipe.
func shippedQLoRA(suffix, recipe string) (dir string, rec qloraShipped, ok bool, err error) {
	root, err := lessons.Root()
	if err != nil {
		return "", rec, false, err
	}
	dir = filepath.Join(root, "models", QLoRAModel+suffix)
	b, err := os.ReadFile(filepath.Join(dir, "qlora.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "", rec, false, nil
	} else if err != nil {
		return "", rec, false, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", rec, false, fmt.Errorf("week3: %s/qlora.json: %w", dir, err)
	}
	return dir, rec, rec.Recipe == recipe, nil
}

// StudyQLoRA compares rank-8 LoRA adapters (all linear layers) with a classifier head on
// bert-tiny-zh for the alert labels, trained on the float32 base and on the base with every
// block linear weight in NF4 (blocks of 64), frozen, with the same steps and seed. The
// adapters shipped in models/ are used when their recipe is this one (they are loaded onto
// the base and evaluated live); otherwise both runs are trained here. Cached by the base's
// weights and the shipped adapters.
func StudyQLoRA() (*QLoRAStudy, error) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(dir)
	if err != nil {
		return nil, err
	}
	recipe := QLoRARecipe(mk)
	parts := []any{recipe}
	for _, b := range qloraBases {
		sd, _, ok, err := shippedQLoRA(b.Suffix, recipe)
		if err != nil {
			return nil, err
		}
		if ok {
			h, err := fileHash(filepath.Join(sd, "adapter_model.safetensors"))
			if err != nil {
				return nil, err
			}
			parts = append(parts, h)
		}
	}
	return cached("qlora", key(parts...), func() (*QLoRAStudy, error) { return studyQLoRA(dir, recipe) })
}

func studyQLoRA(dir, recipe string) (*QLoRAStudy, error) {
	st := &QLoRAStudy{Steps: QLoRASteps, Rank: QLoRARank, Shipped: true}
	for _, b := range qloraBases {
		sd, rec, ok, err := shippedQLoRA(b.Suffix, recipe)
		if err != nil {
			return nil, err
		}
		var r QLoRARow
		if ok {
			r, err = qloraEval(dir, b.Base, sd, rec.Row.Seconds)
		} else {
			st.Shipped = false
			r, _, err = qloraRun(dir, b.Base, QLoRASteps)
		}
		if err != nil {
			return nil, fmt.Errorf("week3: QLoRA on the %s base: %w", b.Base, err)
		}
		st.Rows = append(st.Rows, r)
	}
	return st, nil
}

// BuildQLoRA trains both QLoRA runs of [StudyQLoRA] and writes their adapters (PEFT layout,
// with the classifier head) and qlora.json to out+"-fp32" and out+"-nf4" (for
// scripts/make-models.sh; command is recorded in qlora.json).
func BuildQLoRA(out, command string) ([]QLoRARow, error) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(dir)
	if err != nil {
		return nil, err
	}
	var rows []QLoRARow
	for _, b := range qloraBases {
		r, m, err := qloraRun(dir, b.Base, QLoRASteps)
		if err != nil {
			return nil, fmt.Errorf("week3: QLoRA on the %s base: %w", b.Base, err)
		}
		if err := writeQLoRA(out+b.Suffix, m, qloraShipped{Command: command, Recipe: QLoRARecipe(mk), Row: r}); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// writeQLoRA writes m's adapters and head and the record to dir.
func writeQLoRA(dir string, m *llm.Model, rec qloraShipped) error {
	b, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return err
	}
	return safetensors.WriteDirAtomic(dir, func(tmp string) error {
		if err := m.SaveAdapter(tmp, lessons.BERTTinyZH); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, "qlora.json"), append(b, '\n'), 0o644)
	})
}

// qloraBase loads bert-tiny-zh with the chosen base (NF4: every block linear weight
// through NF4) and fills the row's base size.
func qloraBase(dir, base string) (*llm.Model, QLoRARow, error) {
	row := QLoRARow{Base: base}
	m, err := llm.Load(dir)
	if err != nil {
		return nil, row, err
	}
	var linear float64
	for _, l := range m.Config.Linears() {
		linear += float64(4 * l.In * l.Out)
	}
	row.BaseLinearMB = linear / 1e6
	if base == "NF4" {
		res, err := calib.Quantize(m, calib.Options{Method: calib.NF4, NF4Block: NF4Block})
		if err != nil {
			return nil, row, err
		}
		m = res.Model
		row.BaseLinearMB = float64(res.QuantBytes) / 1e6
	}
	return m, row, nil
}

// qloraAccount fills the trainable parameter count and the float32 size of the rest.
func qloraAccount(m *llm.Model, row *QLoRARow) {
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
}

// qloraAccuracy measures the row's test and hard accuracy.
func qloraAccuracy(m *llm.Model, row *QLoRARow) error {
	test, err := data.Alerts("test")
	if err != nil {
		return err
	}
	hard, err := data.Alerts(data.HardSplit)
	if err != nil {
		return err
	}
	if row.Test, err = Accuracy(m, test); err != nil {
		return err
	}
	row.Hard, err = Accuracy(m, hard)
	return err
}

// qloraEval loads shipped adapters onto the base and measures them.
func qloraEval(dir, base, adapter string, seconds float64) (QLoRARow, error) {
	m, row, err := qloraBase(dir, base)
	if err != nil {
		return row, err
	}
	// The head as in training (this also drops the MLM head), then the saved one over it.
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		return row, err
	}
	if err := m.LoadAdapter(adapter); err != nil {
		return row, err
	}
	qloraAccount(m, &row)
	row.Seconds = seconds
	return row, qloraAccuracy(m, &row)
}

// qloraRun trains one run and measures it.
func qloraRun(dir, base string, steps int) (QLoRARow, *llm.Model, error) {
	m, row, err := qloraBase(dir, base)
	if err != nil {
		return row, nil, err
	}
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		return row, nil, err
	}
	if err := m.AddLoRA(llm.LoRAConfig{Rank: QLoRARank, Targets: "all-linear", Seed: 3}); err != nil {
		return row, nil, err
	}
	qloraAccount(m, &row)
	t0 := time.Now()
	if _, err := TrainClassifier(m, llm.TrainConfig{Steps: steps, LR: QLoRALR, Seed: 1, Trainable: m.LoRATrainable}); err != nil {
		return row, nil, err
	}
	row.Seconds = time.Since(t0).Seconds()
	return row, m, qloraAccuracy(m, &row)
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
