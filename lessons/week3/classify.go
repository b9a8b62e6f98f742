package week3

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// AlertsModel is week 2's alert classifier (bert-tiny-zh fine-tuned on lessons/data/alerts).
const AlertsModel = "bert-tiny-zh-alerts"

// MaxLen is the token limit of the alert texts ([CLS] text [SEP]) for the QLoRA runs and
// the stand-in classifier.
const MaxLen = 64

// ClassifierMaxLen is the token limit the shipped classifier was trained and scored with
// in week 2 (week2.MaxLen; 64 tokens cut the message of about 4 in 10 alerts), so week 3
// scores it, and its quantized variants, the same way.
const ClassifierMaxLen = 128

// ClassifierSteps and ClassifierLR fine-tune the stand-in classifier when AlertsModel is
// not in the checkout (batches of 32: 250 steps ≈ 4 epochs of the 1,920 training alerts).
const (
	ClassifierSteps = 250
	ClassifierLR    = 1e-3
)

// AlertClassifier loads week 2's alert classifier, or, when the checkout does not ship it,
// fine-tunes bert-tiny-zh on the alerts' training split once and keeps the result under
// .cache/week3 (source says which).
func AlertClassifier() (m *llm.Model, source string, err error) {
	if dir, err := lessons.ModelDir(AlertsModel); err == nil {
		m, err := llm.Load(dir)
		if err == nil && m.LoRA != nil { // quantization works on the merged weights
			err = m.MergeLoRA()
		}
		return m, dir, err
	} else if !errors.Is(err, lessons.ErrNoModel) {
		return nil, "", err
	}
	base, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, "", err
	}
	bk, err := modelKey(base)
	if err != nil {
		return nil, "", err
	}
	cd, err := cacheDir()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(cd, "alerts-classifier-"+key(bk, ClassifierSteps, ClassifierLR, MaxLen))
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		m, err := llm.Load(dir)
		return m, dir, err
	}
	if m, err = llm.Load(base); err != nil {
		return nil, "", err
	}
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		return nil, "", err
	}
	if _, err := TrainClassifier(m, llm.TrainConfig{Steps: ClassifierSteps, LR: ClassifierLR, Seed: 1}); err != nil {
		return nil, "", err
	}
	if err := safetensors.CheckReplaceable(dir); err != nil {
		return nil, "", err
	}
	return m, dir, m.Save(dir)
}

// alertBatches tokenizes alerts as [CLS] text [SEP] with their class indices.
func alertBatches(m *llm.Model, ex []data.Alert, maxLen int) (seqs [][]int, classes []int, err error) {
	if m.Tokenizer == nil {
		return nil, nil, errors.New("week3: the classifier has no tokenizer")
	}
	idx := map[string]int{}
	for i, l := range data.AlertLabels() {
		idx[l] = i
	}
	for _, a := range ex {
		ids, _ := tokenizer.EncodeSingle(m.Tokenizer, a.Text, maxLen)
		c, ok := idx[a.Label]
		if !ok {
			return nil, nil, fmt.Errorf("week3: unknown label %q", a.Label)
		}
		seqs, classes = append(seqs, ids), append(classes, c)
	}
	return seqs, classes, nil
}

type alertSource struct {
	seqs    [][]int
	classes []int
	pad     int
	rng     *rand.Rand
	order   []int
	pos     int
}

func (s *alertSource) Next() (*llm.TrainBatch, error) {
	const bs = 32
	var seqs [][]int
	var cls []int
	for range bs {
		if s.pos == len(s.order) {
			s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
			s.pos = 0
		}
		i := s.order[s.pos]
		s.pos++
		seqs, cls = append(seqs, s.seqs[i]), append(cls, s.classes[i])
	}
	return &llm.TrainBatch{Batch: llm.PadBatch(seqs, s.pad), Classes: cls}, nil
}

// TrainClassifier trains m (with a classifier head) on the alerts' training split in
// shuffled batches of 32 with tc (Objective set to classification) and returns the
// wall-clock time.
func TrainClassifier(m *llm.Model, tc llm.TrainConfig) (time.Duration, error) {
	train, err := data.Alerts("train")
	if err != nil {
		return 0, err
	}
	seqs, cls, err := alertBatches(m, train, MaxLen)
	if err != nil {
		return 0, err
	}
	src := &alertSource{seqs: seqs, classes: cls, pad: m.Config.PadID, rng: rand.New(rand.NewPCG(tc.Seed, 7))}
	for i := range seqs {
		src.order = append(src.order, i)
	}
	src.rng.Shuffle(len(src.order), func(i, j int) { src.order[i], src.order[j] = src.order[j], src.order[i] })
	tc.Objective = llm.Classification
	t0 := time.Now()
	tr, err := m.NewTrainer(tc, src, nil)
	if err != nil {
		return 0, err
	}
	for !tr.Done() {
		if _, err := tr.Step(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// Accuracy is the share of alerts (in %) whose predicted class is the label, the texts
// cut at MaxLen tokens.
func Accuracy(m *llm.Model, ex []data.Alert) (float64, error) { return AccuracyLen(m, ex, MaxLen) }

// AccuracyLen is [Accuracy] with the texts cut at maxLen tokens.
func AccuracyLen(m *llm.Model, ex []data.Alert, maxLen int) (float64, error) {
	seqs, cls, err := alertBatches(m, ex, maxLen)
	if err != nil {
		return 0, err
	}
	if len(seqs) == 0 {
		return 0, errors.New("week3: no examples")
	}
	right := 0
	for lo := 0; lo < len(seqs); lo += 64 {
		hi := min(lo+64, len(seqs))
		out, err := m.Forward(llm.PadBatch(seqs[lo:hi], m.Config.PadID), llm.ForwardOptions{SkipLogits: true})
		if err != nil {
			return 0, err
		}
		if out.Classes == nil {
			return 0, errors.New("week3: the model has no classifier head")
		}
		n := out.Classes.Shape[1]
		for i := lo; i < hi; i++ {
			row := out.Classes.Data[(i-lo)*n : (i-lo+1)*n]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == cls[i] {
				right++
			}
		}
	}
	return 100 * float64(right) / float64(len(seqs)), nil
}

// ClsRow is one line of the classifier table.
type ClsRow struct {
	Variant  string
	Test     float64 // accuracy % on the test split (same templates as training)
	Hard     float64 // accuracy % on the hard split (unseen templates)
	LinearMB float64
}

// ClsStudy is the cached outcome of [StudyClassifier].
type ClsStudy struct {
	Source       string
	TestN, HardN int
	Rows         []ClsRow
}

// ClsVariants are the classifier's quantized versions (block linear layers only; the
// pooler and the classifier head stay float32). GPTQ calibrates on training alerts.
var ClsVariants = []Variant{
	{"int8", quant.Int8, calib.RTN, 0},
	{"int4-RTN", quant.Int4Group32, calib.RTN, 0},
	{"int4-GPTQ", quant.Int4Group32, calib.GPTQ, 0},
	{"int4-channel-RTN", Int4Channel, calib.RTN, 0},
	{"int4-channel-GPTQ", Int4Channel, calib.GPTQ, 0},
	{"NF4", quant.Scheme{}, calib.NF4, 0},
}

// ClsCalib is how many training alerts calibrate GPTQ for the classifier.
const ClsCalib = 256

// StudyClassifier measures the alert classifier's accuracy in float32 and in every
// ClsVariants entry; cached by the classifier's weights.
func StudyClassifier() (*ClsStudy, error) {
	m, src, err := AlertClassifier()
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(src)
	if err != nil {
		return nil, err
	}
	k := key(mk, fmt.Sprint(ClsVariants), ClsCalib, GPTQOptions, ClassifierMaxLen, "v3")
	return cached("classifier", k, func() (*ClsStudy, error) { return studyClassifier(m, src) })
}

func studyClassifier(m *llm.Model, src string) (*ClsStudy, error) {
	test, err := data.Alerts("test")
	if err != nil {
		return nil, err
	}
	hard, err := data.Alerts(data.HardSplit)
	if err != nil {
		return nil, err
	}
	train, err := data.Alerts("train")
	if err != nil {
		return nil, err
	}
	cal, _, err := alertBatches(m, train[:min(ClsCalib, len(train))], ClassifierMaxLen)
	if err != nil {
		return nil, err
	}
	st := &ClsStudy{Source: src, TestN: len(test), HardN: len(hard)}
	var floatMB float64
	for _, l := range m.Config.Linears() {
		floatMB += float64(4*l.In*l.Out) / 1e6
	}
	add := func(name string, mm *llm.Model, mb float64) error {
		a, err := AccuracyLen(mm, test, ClassifierMaxLen)
		if err != nil {
			return err
		}
		b, err := AccuracyLen(mm, hard, ClassifierMaxLen)
		if err != nil {
			return err
		}
		st.Rows = append(st.Rows, ClsRow{Variant: name, Test: a, Hard: b, LinearMB: mb})
		return nil
	}
	if err := add("fp32", m, floatMB); err != nil {
		return nil, err
	}
	// The float32 model's layer inputs on the calibration alerts, shared by every variant.
	r, err := calib.New(m)
	if err != nil {
		return nil, err
	}
	inputs, err := r.Inputs(cal)
	if err != nil {
		return nil, err
	}
	roots := calib.GramRoots(inputs, m.Config.Linears())
	for _, v := range ClsVariants {
		res, err := calib.Quantize(m, calib.Options{Scheme: v.Scheme, Method: v.Method, Calib: cal, Inputs: inputs, Roots: roots, GPTQ: GPTQOptions})
		if err != nil {
			return nil, fmt.Errorf("week3: %s: %w", v.Name, err)
		}
		if err := add(v.Name, res.Model, float64(res.QuantBytes)/1e6); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Table is the accuracy table, with the change against float32 in points.
func (s *ClsStudy) Table() (headers []string, rows [][]string) {
	headers = []string{"变体 variant", "测试集 test %", "变化 Δ", "困难集 hard %", "变化 Δ", "线性层 MB"}
	base := s.Rows[0]
	for _, r := range s.Rows {
		d1, d2 := "—", "—"
		if r.Variant != "fp32" {
			d1, d2 = fmt.Sprintf("%+.2f", r.Test-base.Test), fmt.Sprintf("%+.2f", r.Hard-base.Hard)
		}
		rows = append(rows, []string{r.Variant, fmt.Sprintf("%.2f", r.Test), d1, fmt.Sprintf("%.2f", r.Hard), d2, fmt.Sprintf("%.3f", r.LinearMB)})
	}
	return headers, rows
}

// Chart draws both accuracies per variant.
func (s *ClsStudy) Chart() *viz.Chart {
	var labels []string
	var a, b []float64
	for _, r := range s.Rows {
		labels = append(labels, r.Variant)
		a, b = append(a, round(r.Test, 2)), append(b, round(r.Hard, 2))
	}
	return viz.Bars(labels, viz.Series{Name: fmt.Sprintf("测试集 test (%d)", s.TestN), Values: a}, viz.Series{Name: fmt.Sprintf("困难集 hard (%d)", s.HardN), Values: b}).
		Title("告警分类器量化前后的准确率 (%)")
}

// Row returns the row of a variant.
func (s *ClsStudy) Row(variant string) (ClsRow, bool) {
	for _, r := range s.Rows {
		if r.Variant == variant {
			return r, true
		}
	}
	return ClsRow{}, false
}
