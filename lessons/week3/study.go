package week3

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// Window is the context perplexity is measured in: gpt-tiny-zh was trained on sequences of
// 64 tokens (models/README.md), so positions 64…127 of its 128 were never trained and
// would only add noise.
const Window = 64

// CalibTokens is how many training-corpus tokens calibrate GPTQ (256 windows of 64). With
// 4,096 tokens GPTQ's perplexity increase on gpt-tiny-zh was 0.55 of RTN's (int4, groups of
// 32); with 16,384 it is below half.
const CalibTokens = 16384

// AWQCalibTokens calibrate AWQ, whose α search runs the layer once per grid point, and
// AWQGrid is the number of α steps in [0, 1].
const (
	AWQCalibTokens = 2048
	AWQGrid        = 10
)

// Variant is one way of quantizing a model's linear layers.
type Variant struct {
	Name   string
	Scheme quant.Scheme
	Method calib.Method
	Calib  int // calibration tokens (0: all of CalibTokens)
}

// Int4Channel is symmetric int4 with one scale per output row: coarse enough that GPTQ's
// error compensation shows clearly.
var Int4Channel = quant.Scheme{Bits: 4}

// Variants are the rows of the perplexity study, after float32.
var Variants = []Variant{
	{"int8", quant.Int8, calib.RTN, 0},
	{"int4-RTN", quant.Int4Group32, calib.RTN, 0},
	{"int4-GPTQ", quant.Int4Group32, calib.GPTQ, 0},
	{"int4-AWQ", quant.Int4Group32, calib.AWQ, AWQCalibTokens},
	{"int4-channel-RTN", Int4Channel, calib.RTN, 0},
	{"int4-channel-GPTQ", Int4Channel, calib.GPTQ, 0},
}

// GPTQOptions are the GPTQ settings of the study: act-order, 1% dampening, every layer
// calibrated on the float32 model's inputs.
var GPTQOptions = quant.GPTQOptions{ActOrder: true, Damp: 0.01}

// PPLRow is one line of the perplexity table.
type PPLRow struct {
	Variant  string
	Scheme   string // "fp32" or quant.Scheme's description
	PPL      float64
	Increase float64 // PPL − float32's
	LinearMB float64 // the block linear weights as stored (MB)
	Seconds  float64 // time to quantize
}

// LayerError is one layer's error under one variant.
type LayerError struct {
	Variant   string
	Module    string
	Layer     int
	Matrix    string  // c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj
	WeightSNR float64 // dB, dequantized vs float32 weights
	OutputSNR float64 // dB, x·Ŵᵀ vs x·Wᵀ on the calibration inputs
}

// GPTStudy is the cached outcome of [StudyGPT].
type GPTStudy struct {
	Model       string
	EvalTokens  int
	CalibTokens int
	Window      int
	PPL         []PPLRow
	Layers      []LayerError
}

// CorpusIDs returns the training corpus's first n tokens (calibration) and the whole
// validation text (evaluation), tokenized by m.
func CorpusIDs(m *llm.Model, n int) (calibIDs, evalIDs []int, err error) {
	if m.Tokenizer == nil {
		return nil, nil, fmt.Errorf("week3: the model has no tokenizer")
	}
	train, val := data.Corpus()
	// n tokens need at most a few times n runes for a character tokenizer.
	if r := []rune(train); len(r) > 4*n {
		train = string(r[:4*n])
	}
	calibIDs = tokenizer.IDs(m.Tokenizer.Encode(train))
	if len(calibIDs) < n {
		return nil, nil, fmt.Errorf("week3: the corpus has only %d calibration tokens, want %d", len(calibIDs), n)
	}
	return calibIDs[:n], tokenizer.IDs(m.Tokenizer.Encode(val)), nil
}

// Windows cuts ids into consecutive sequences of w tokens (the last one may be shorter).
func Windows(ids []int, w int) [][]int {
	var out [][]int
	for lo := 0; lo < len(ids); lo += w {
		out = append(out, ids[lo:min(lo+w, len(ids))])
	}
	return out
}

// Perplexity is the perplexity of a GPT on ids in windows of Window tokens (each window
// starts fresh), with the plain-Go float32 decoder of qmodel (the LM head in float32).
func Perplexity(m *llm.Model, ids []int) (float64, error) {
	g, err := qmodel.NewGPT(m, qmodel.F32)
	if err != nil {
		return 0, err
	}
	return g.Perplexity(ids, Window)
}

// StudyGPT quantizes a GPT model (a shipped name such as lessons.GPTTinyZH, or a
// directory) with every [Variants] entry and measures the validation perplexity and each
// layer's error; cached by the weights' hash.
func StudyGPT(name string) (*GPTStudy, error) {
	dir, err := lessons.ModelDir(name)
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(dir)
	if err != nil {
		return nil, err
	}
	k := key(mk, Window, CalibTokens, fmt.Sprint(Variants), GPTQOptions, AWQGrid, calib.OutputRows, "v3")
	return cached("gpt-study", k, func() (*GPTStudy, error) { return studyGPT(name, dir) })
}

func studyGPT(name, dir string) (*GPTStudy, error) {
	m, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.GPT {
		return nil, fmt.Errorf("week3: %s is not a GPT", name)
	}
	calibIDs, evalIDs, err := CorpusIDs(m, CalibTokens)
	if err != nil {
		return nil, err
	}
	st := &GPTStudy{Model: name, EvalTokens: len(evalIDs), CalibTokens: len(calibIDs), Window: Window}
	base, err := Perplexity(m, evalIDs)
	if err != nil {
		return nil, err
	}
	var floatMB float64
	for _, l := range m.Config.Linears() {
		floatMB += float64(4*l.In*l.Out) / 1e6
	}
	st.PPL = append(st.PPL, PPLRow{Variant: "fp32", Scheme: "fp32", PPL: base, LinearMB: floatMB})
	for _, v := range Variants {
		t0 := time.Now()
		ids := calibIDs
		if v.Calib > 0 {
			ids = ids[:min(v.Calib, len(ids))]
		}
		res, err := calib.Quantize(m, calib.Options{Scheme: v.Scheme, Method: v.Method, Calib: Windows(ids, Window), GPTQ: GPTQOptions, AWQGrid: AWQGrid})
		if err != nil {
			return nil, fmt.Errorf("week3: %s: %w", v.Name, err)
		}
		secs := time.Since(t0).Seconds()
		p, err := Perplexity(res.Model, evalIDs)
		if err != nil {
			return nil, err
		}
		st.PPL = append(st.PPL, PPLRow{Variant: v.Name, Scheme: v.Scheme.String() + " " + string(v.Method), PPL: p, Increase: p - base,
			LinearMB: float64(res.QuantBytes) / 1e6, Seconds: secs})
		for _, l := range res.Layers {
			st.Layers = append(st.Layers, LayerError{Variant: v.Name, Module: l.Module, Layer: l.Layer, Matrix: matrixName(l.Module),
				WeightSNR: l.Weight.SNR, OutputSNR: l.Output.SNR})
		}
	}
	return st, nil
}

// matrixName is the module name without "transformer.h.N." (or BERT's "bert.encoder.layer.N.").
func matrixName(module string) string {
	parts := strings.Split(module, ".")
	for i, p := range parts {
		if (p == "h" || p == "layer") && i+2 < len(parts) {
			return strings.Join(parts[i+2:], ".")
		}
	}
	return module
}

// Row returns the perplexity row of a variant.
func (s *GPTStudy) Row(variant string) (PPLRow, bool) {
	for _, r := range s.PPL {
		if r.Variant == variant {
			return r, true
		}
	}
	return PPLRow{}, false
}

// GPTQRatio is GPTQ's perplexity increase divided by RTN's, for int4 in groups of 32
// ("") or per channel ("channel").
func (s *GPTStudy) GPTQRatio(gran string) float64 {
	pre := "int4-"
	if gran != "" {
		pre += gran + "-"
	}
	r, _ := s.Row(pre + "RTN")
	g, _ := s.Row(pre + "GPTQ")
	return g.Increase / r.Increase
}

// Table is the perplexity table.
func (s *GPTStudy) Table() (headers []string, rows [][]string) {
	headers = []string{"变体 variant", "方案 scheme", "困惑度 perplexity", "增加 increase", "线性层 MB", "量化用时 s"}
	for _, r := range s.PPL {
		inc := "—"
		if r.Variant != "fp32" {
			inc = fmt.Sprintf("%+.4f", r.Increase)
		}
		rows = append(rows, []string{r.Variant, r.Scheme, fmt.Sprintf("%.4f", r.PPL), inc, fmt.Sprintf("%.3f", r.LinearMB), fmt.Sprintf("%.1f", r.Seconds)})
	}
	return headers, rows
}

// PPLChart draws the perplexity of each variant and the weight size beside it.
func (s *GPTStudy) PPLChart() *viz.Chart {
	var labels []string
	var ppl, mb []float64
	for _, r := range s.PPL {
		labels = append(labels, r.Variant)
		ppl = append(ppl, round(r.PPL, 4))
		mb = append(mb, round(r.LinearMB, 3))
	}
	return viz.Bars(labels, viz.Series{Name: "困惑度 perplexity", Values: ppl}, viz.Series{Name: "线性层权重 MB", Values: mb}).
		Title(fmt.Sprintf("%s 验证集困惑度（%d 个 token，窗口 %d）", s.Model, s.EvalTokens, s.Window))
}

// Heatmap draws one variant's per-layer SNR in dB: rows are blocks, columns the four
// matrices; output=true uses the layer-output SNR on calibration data instead of the
// weights'.
func (s *GPTStudy) Heatmap(variant string, output bool) *viz.Chart {
	var cols []string
	idx := map[string]int{}
	layers := 0
	for _, l := range s.Layers {
		if l.Variant != variant {
			continue
		}
		if _, ok := idx[l.Matrix]; !ok {
			idx[l.Matrix] = len(cols)
			cols = append(cols, l.Matrix)
		}
		layers = max(layers, l.Layer+1)
	}
	vals := make([][]float64, layers)
	rowsL := make([]string, layers)
	for i := range vals {
		vals[i] = make([]float64, len(cols))
		rowsL[i] = fmt.Sprintf("block %d", i)
	}
	for _, l := range s.Layers {
		if l.Variant == variant {
			v := l.WeightSNR
			if output {
				v = l.OutputSNR
			}
			vals[l.Layer][idx[l.Matrix]] = round(v, 1)
		}
	}
	what := "权重 weight"
	if output {
		what = "输出 output"
	}
	return viz.Heatmap(rowsL, cols, vals).Title(fmt.Sprintf("%s：每层%s SNR (dB)", variant, what))
}

func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}
