package week3

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/safetensors"
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
	k := key(mk, Window, CalibTokens, fmt.Sprint(Variants), GPTQOptions, AWQGrid, calib.OutputRows, "v4")
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
	// Every variant calibrates on the float32 model's layer inputs: run it once.
	r, err := calib.New(m)
	if err != nil {
		return nil, err
	}
	inputs, err := r.Inputs(Windows(calibIDs, Window))
	if err != nil {
		return nil, err
	}
	roots := calib.GramRoots(inputs, m.Config.Linears()) // GPTQ's XᵀX, shared by both GPTQ rows
	for _, v := range Variants {
		t0 := time.Now()
		ids, in, rs := calibIDs, inputs, roots
		if v.Calib > 0 && v.Calib < len(ids) {
			// The first windows' inputs are the first rows of every layer's.
			ids, in, rs = ids[:v.Calib], map[string][]float32{}, nil
			for _, l := range m.Config.Linears() {
				in[l.Module] = inputs[l.Module][:v.Calib*l.In]
			}
		}
		res, err := calib.Quantize(m, calib.Options{Scheme: v.Scheme, Method: v.Method, Calib: Windows(ids, Window), Inputs: in, Roots: rs,
			GPTQ: GPTQOptions, AWQGrid: AWQGrid})
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

// SetupRow is the int4 (groups of 32) perplexity of RTN and GPTQ under one evaluation setup.
type SetupRow struct {
	Setup          string
	Window         int
	Head           string // the tied LM head's format: "int4" (RTN) or "fp32"
	FP32, RTN, GPT float64
	Ratio          float64 // (GPTQ − fp32) / (RTN − fp32)
}

// OldCalibTokens is the calibration `divellm bench quant --perplexity` used when it scored
// windows of the model's 128 positions (it now defaults to the trained length, --window):
// the first 4,096 tokens of the training corpus.
const OldCalibTokens = 4096

// EvalSetups re-measures the comparison `divellm bench quant --perplexity` made (GPTQ
// through qmodel.QuantizeDir with act-order, 4,096 calibration tokens; windows of 128
// positions; the LM head in int4 RTN for both methods) and then changes one thing at a
// time: the 64-token window the model was trained on, then the LM head kept in float32.
// The GPTQ weights are the same in every row. Cached by the weights' hash.
func EvalSetups(name string) ([]SetupRow, error) {
	dir, err := lessons.ModelDir(name)
	if err != nil {
		return nil, err
	}
	mk, err := modelKey(dir)
	if err != nil {
		return nil, err
	}
	return cached("setups", key(mk, OldCalibTokens, "v2"), func() ([]SetupRow, error) { return evalSetups(dir) })
}

func evalSetups(dir string) ([]SetupRow, error) {
	m, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	calibIDs, evalIDs, err := CorpusIDs(m, OldCalibTokens)
	if err != nil {
		return nil, err
	}
	cd, err := cacheDir()
	if err != nil {
		return nil, err
	}
	gdir := filepath.Join(cd, "gptq-bench-setup")
	if err := safetensors.CheckReplaceable(gdir); err != nil {
		return nil, err
	}
	if _, err := qmodel.QuantizeDir(dir, gdir, qmodel.Options{Scheme: quant.Int4Group32, Method: qmodel.GPTQ, Calib: calibIDs,
		GPTQ: quant.GPTQOptions{ActOrder: true}}); err != nil {
		return nil, err
	}
	pplIn := func(w int) func(*qmodel.GPT, error) (float64, error) {
		return func(g *qmodel.GPT, err error) (float64, error) {
			if err != nil {
				return 0, err
			}
			return g.Perplexity(evalIDs, w)
		}
	}
	var rows []SetupRow
	for _, w := range []int{m.Config.MaxPos, Window} {
		r := SetupRow{Window: w, Head: "int4"}
		ppl := pplIn(w)
		if r.FP32, err = ppl(qmodel.NewGPT(m, qmodel.F32)); err != nil {
			return nil, err
		}
		if r.RTN, err = ppl(qmodel.NewGPT(m, qmodel.Int4)); err != nil {
			return nil, err
		}
		if r.GPT, err = ppl(qmodel.LoadGPT(gdir, qmodel.Int4)); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	// The LM head in float32: the same codes, dequantized into a float32 model.
	ck, err := quant.Load(filepath.Join(gdir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	gm, err := withWeights(m, ck.Weights)
	if err != nil {
		return nil, err
	}
	rtn, err := calib.Quantize(m, calib.Options{Scheme: quant.Int4Group32})
	if err != nil {
		return nil, err
	}
	r := SetupRow{Window: Window, Head: "fp32"}
	if r.FP32, err = Perplexity(m, evalIDs); err != nil {
		return nil, err
	}
	if r.RTN, err = Perplexity(rtn.Model, evalIDs); err != nil {
		return nil, err
	}
	if r.GPT, err = Perplexity(gm, evalIDs); err != nil {
		return nil, err
	}
	rows = append(rows, r)
	names := []string{"早先 bench 的做法：128 窗口，int4 输出头", "64 窗口（训练长度），int4 输出头", "64 窗口，fp32 输出头"}
	for i := range rows {
		rows[i].Setup = names[i]
		rows[i].Ratio = (rows[i].GPT - rows[i].FP32) / (rows[i].RTN - rows[i].FP32)
	}
	return rows, nil
}

// withWeights returns a copy of m whose block linear weights are the dequantized tensors
// (by module name, [out, in]).
func withWeights(m *llm.Model, qs map[string]*quant.Tensor) (*llm.Model, error) {
	w, err := m.Weights.Clone()
	if err != nil {
		return nil, err
	}
	for _, l := range m.Config.Linears() {
		q, ok := qs[l.Module]
		if !ok {
			return nil, fmt.Errorf("week3: no quantized %s", l.Module)
		}
		d := q.Dequantize()
		if l.Conv1D {
			d = calib.Transpose(d, l.Out, l.In)
		}
		name := l.Module + ".weight"
		if err := w.Set(name, w.Shape(name), d); err != nil {
			return nil, err
		}
	}
	return &llm.Model{Config: m.Config, Weights: w, Tokenizer: m.Tokenizer}, nil
}

// SetupTable is EvalSetups as a table.
func SetupTable(rs []SetupRow) (headers []string, rows [][]string) {
	headers = []string{"评测方式 setup", "fp32", "int4-RTN", "int4-GPTQ", "GPTQ/RTN 增加量之比"}
	for _, r := range rs {
		rows = append(rows, []string{r.Setup, fmt.Sprintf("%.3f", r.FP32), fmt.Sprintf("%.3f", r.RTN), fmt.Sprintf("%.3f", r.GPT), fmt.Sprintf("%.2f", r.Ratio)})
	}
	return headers, rows
}
