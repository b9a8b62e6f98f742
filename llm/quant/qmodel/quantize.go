package qmodel

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/sample"
)

// Method is how weights are rounded.
type Method string

const (
	// RTN rounds every weight to the nearest level ([quant.Quantize]).
	RTN Method = "rtn"
	// GPTQ compensates rounding errors using calibration activations ([quant.GPTQ]).
	GPTQ Method = "gptq"
)

// Options configures [QuantizeDir].
type Options struct {
	Scheme quant.Scheme // e.g. quant.Int8 or quant.Int4Group32
	Method Method       // RTN (default) or GPTQ
	// Calib is the token ids GPTQ runs through the float32 model to collect each layer's
	// inputs (GPT models only), in windows of at most the model's positions.
	Calib []int
	GPTQ  quant.GPTQOptions
	// Sequential collects each layer's calibration inputs from the model whose earlier
	// layers are already quantized (as the GPTQ reference does), so a layer compensates
	// for the errors of those before it. Without it every layer sees float32 inputs: one
	// calibration pass instead of one per layer.
	Sequential bool
}

// ErrGroupSize is wrapped by [QuantizeDir]'s error when a per-group scheme's group size
// does not divide the input size of every linear layer (the kernels need whole groups).
var ErrGroupSize = errors.New("group size does not divide the layers")

// MaxCalibBytes bounds the layer inputs GPTQ calibration keeps in memory (float32, every
// linear layer's input for every calibration token; one layer at a time when Sequential).
const MaxCalibBytes = 4 << 30

// LayerReport describes one quantized weight.
type LayerReport struct {
	Name       string
	Rows, Cols int
	Weight     quant.Metrics // dequantized vs float32 weights
}

// Report summarises [QuantizeDir].
type Report struct {
	Layers           []LayerReport
	FloatBytes       int // the quantized weights' size in float32
	QuantBytes       int // their size as codes, scales and zeros
	CalibrationRows  int // tokens seen by GPTQ
	PlainTensorBytes int // float32 tensors kept as they were (embeddings, LayerNorm, biases)
}

// linearWeights lists the model's linear layers: module name → (float32 weight [out, in],
// out, in). GPT-2's Conv1D weights are transposed.
func linearWeights(m *llm.Model, ps params) (map[string][]float32, map[string][2]int, error) {
	ws, dims := map[string][]float32{}, map[string][2]int{}
	switch m.Config.Arch {
	case llm.GPT:
		for l := range m.Config.Layers {
			for _, name := range linearNames(m.Config, l) {
				p, ok := ps[name+".weight"]
				if !ok || len(p.Shape) != 2 {
					return nil, nil, fmt.Errorf("qmodel: %s.weight missing or not 2-D", name)
				}
				in, out := p.Shape[0], p.Shape[1]
				ws[name], dims[name] = transpose(p.Data, in, out), [2]int{out, in}
			}
		}
	case llm.BERT:
		for name, p := range ps {
			base, ok := strings.CutSuffix(name, ".weight")
			if !ok || len(p.Shape) != 2 || strings.Contains(name, "embeddings") {
				continue
			}
			ws[base], dims[base] = p.Data, [2]int{p.Shape[0], p.Shape[1]}
		}
	default:
		return nil, nil, fmt.Errorf("qmodel: unknown architecture %q", m.Config.Arch)
	}
	return ws, dims, nil
}

// QuantizeDir reads the checkpoint directory src, quantizes every linear weight and writes
// the directory dst (config.json, model.safetensors in quant's layout, tokenizer files).
// Embeddings, LayerNorm parameters and biases stay float32. dst is replaced atomically.
// Every layer gets exactly o.Scheme: a per-group scheme whose group size does not divide
// some layer's input size is refused ([ErrGroupSize]) before anything is written, and GPTQ
// calibration larger than [MaxCalibBytes] of layer inputs is refused with the estimate.
func QuantizeDir(src, dst string, o Options) (*Report, error) {
	if err := o.Scheme.Validate(); err != nil {
		return nil, err
	}
	if o.Method == "" {
		o.Method = RTN
	}
	if o.Method != RTN && o.Method != GPTQ {
		return nil, fmt.Errorf("qmodel: unknown method %q (rtn or gptq)", o.Method)
	}
	m, err := llm.Load(src)
	if err != nil {
		return nil, err
	}
	ps, err := modelParams(m)
	if err != nil {
		return nil, err
	}
	ws, dims, err := linearWeights(m, ps)
	if err != nil {
		return nil, err
	}
	if err := checkGroups(o.Scheme, dims); err != nil {
		return nil, err
	}
	rep := &Report{}
	var calib map[string][]float32
	if o.Method == GPTQ {
		if m.Config.Arch != llm.GPT {
			return nil, errors.New("qmodel: GPTQ calibration is implemented for GPT models only")
		}
		if len(o.Calib) == 0 {
			return nil, errors.New("qmodel: GPTQ needs calibration tokens (Options.Calib)")
		}
		if err := checkCalibMemory(len(o.Calib), dims, o.Sequential); err != nil {
			return nil, err
		}
		if !o.Sequential {
			if calib, err = collectInputs(m, o.Calib, ""); err != nil {
				return nil, err
			}
		}
		rep.CalibrationRows = len(o.Calib)
	}
	var names []string
	if m.Config.Arch == llm.GPT {
		for l := range m.Config.Layers { // model order, for sequential calibration
			names = append(names, linearNames(m.Config, l)...)
		}
	} else {
		for n := range ws {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var work *llm.Model // float32 model with the layers quantized so far (sequential GPTQ)
	if o.Method == GPTQ && o.Sequential {
		wc, err := m.Weights.Clone()
		if err != nil {
			return nil, err
		}
		work = &llm.Model{Config: m.Config, Weights: wc}
	}
	qs := map[string]*quant.Tensor{}
	for _, name := range names {
		if o.Method == GPTQ && o.Sequential {
			if calib, err = collectInputs(work, o.Calib, name); err != nil {
				return nil, err
			}
		}
		w, d := ws[name], dims[name]
		var q *quant.Tensor
		s := o.Scheme // checkGroups: a group size divides every layer
		if o.Method == GPTQ {
			x := calib[name]
			q, err = quant.GPTQ(w, d[0], d[1], x, len(x)/d[1], s, o.GPTQ)
		} else {
			q, err = quant.Quantize(w, d[0], d[1], s)
		}
		if err != nil {
			return nil, fmt.Errorf("qmodel: %s: %w", name, err)
		}
		met, _ := quant.Compare(w, q.Dequantize())
		rep.Layers = append(rep.Layers, LayerReport{Name: name, Rows: d[0], Cols: d[1], Weight: met})
		rep.FloatBytes += 4 * len(w)
		rep.QuantBytes += q.Bytes()
		qs[name] = q
		if o.Method == GPTQ && o.Sequential { // later layers see this one quantized
			p := ps[name+".weight"]
			if err := work.Weights.Set(name+".weight", p.Shape, transpose(q.Dequantize(), d[0], d[1])); err != nil {
				return nil, err
			}
		}
	}
	var plain []safetensors.Tensor
	for _, n := range m.Weights.Names() {
		base, _ := strings.CutSuffix(n, ".weight")
		if _, ok := qs[base]; ok && strings.HasSuffix(n, ".weight") {
			continue
		}
		p := ps[n]
		plain = append(plain, safetensors.FromFloat32(n, p.Shape, p.Data))
		rep.PlainTensorBytes += 4 * len(p.Data)
	}
	cfg, err := m.Config.MarshalJSON()
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"source": filepath.Base(src), "method": string(o.Method), "scheme": o.Scheme.String()}
	err = safetensors.WriteDirAtomic(dst, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "config.json"), append(cfg, '\n'), 0o644); err != nil {
			return err
		}
		if err := quant.Save(filepath.Join(tmp, "model.safetensors"), qs, plain, meta); err != nil {
			return err
		}
		if m.Tokenizer != nil {
			return m.Tokenizer.Save(tmp)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("qmodel: write %s: %w", dst, err)
	}
	return rep, nil
}

// checkGroups refuses a per-group scheme whose group size does not divide the input size
// of every layer, listing the layers it does not divide.
func checkGroups(s quant.Scheme, dims map[string][2]int) error {
	if s.Granularity != quant.PerGroup {
		return nil
	}
	byCols := map[int][]string{}
	var all []int
	for name, d := range dims {
		all = append(all, d[1])
		if d[1]%s.GroupSize != 0 {
			byCols[d[1]] = append(byCols[d[1]], name)
		}
	}
	if len(byCols) == 0 {
		return nil
	}
	var cols []int
	for c := range byCols {
		cols = append(cols, c)
	}
	sort.Ints(cols)
	var parts []string
	n := 0
	for _, c := range cols {
		names := byCols[c]
		sort.Strings(names)
		n += len(names)
		more := ""
		if len(names) > 1 {
			more = fmt.Sprintf(" and %d more", len(names)-1)
		}
		parts = append(parts, fmt.Sprintf("%d input columns in %s%s", c, names[0], more))
	}
	return fmt.Errorf("qmodel: %w: group size %d does not divide the inputs of %d layers (%s); choose a divisor of %d (e.g. group=%d) or per-channel scales",
		ErrGroupSize, s.GroupSize, n, strings.Join(parts, "; "), gcdAll(all), largestPow2Divisor(gcdAll(all)))
}

func gcdAll(xs []int) int {
	g := 0
	for _, x := range xs {
		for x != 0 {
			g, x = x, g%x
		}
	}
	return g
}

// largestPow2Divisor is the largest power of two dividing n, at most 128.
func largestPow2Divisor(n int) int {
	p := 1
	for p < 128 && n%(2*p) == 0 {
		p *= 2
	}
	return p
}

// checkCalibMemory refuses calibration whose layer inputs would exceed MaxCalibBytes.
func checkCalibMemory(tokens int, dims map[string][2]int, sequential bool) error {
	per := 0
	for _, d := range dims {
		if sequential {
			per = max(per, d[1])
		} else {
			per += d[1]
		}
	}
	need := float64(tokens) * float64(per) * 4
	if need > MaxCalibBytes {
		return fmt.Errorf("qmodel: GPTQ calibration on %d tokens would keep %.1f GB of layer inputs (limit %.1f GB): use fewer calibration tokens",
			tokens, need/1e9, float64(MaxCalibBytes)/1e9)
	}
	return nil
}

// collectInputs runs the float32 decoder over tokens (in windows of the model's maximum
// length) and returns the linear layers' inputs, [rows, in] per module name: every layer's,
// or only the named one.
func collectInputs(m *llm.Model, tokens []int, only string) (map[string][]float32, error) {
	g, err := NewGPT(m, F32)
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	g.capture = func(module string, x []float32, t int) {
		if only == "" || module == only {
			out[module] = append(out[module], x...)
		}
	}
	for lo := 0; lo < len(tokens); lo += m.Config.MaxPos {
		win := tokens[lo:min(lo+m.Config.MaxPos, len(tokens))]
		s, err := g.NewSession(len(win))
		if err != nil {
			return nil, err
		}
		if _, err := s.Forward(win); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LoadGPT reads a GPT checkpoint directory, float32 (as written by llm.Model.Save or
// Hugging Face) or quantized (by [QuantizeDir]), and builds the decoder in format f. A
// quantized directory keeps its own codes: f then only picks the kernels (Int8 runs 8-bit
// per-channel layers as W8A8; any other format runs them weight-only) and the LM head's
// format.
func LoadGPT(dir string, f Format) (*GPT, error) {
	path := filepath.Join(dir, "model.safetensors")
	sf, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qmodel: %w", err)
	}
	isQuant := sf.Metadata["format"] == quant.FormatName
	sf.Close()
	if !isQuant {
		m, err := llm.Load(dir)
		if err != nil {
			return nil, err
		}
		return NewGPT(m, f)
	}
	if f == F32 {
		return nil, fmt.Errorf("qmodel: %s is quantized; load it as int8, wo-int8 or int4", dir)
	}
	c, err := llm.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if c.Arch != llm.GPT {
		return nil, fmt.Errorf("qmodel: %s holds a %q model, not gpt2", dir, c.Arch)
	}
	ck, err := quant.Load(path)
	if err != nil {
		return nil, err
	}
	ps := params{}
	for name, t := range ck.Plain {
		data, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("qmodel: %s: %w", path, err)
		}
		ps[name] = &param{Shape: t.Shape, Data: data}
	}
	return buildGPT(c, &weights{params: ps, quant: ck.Weights, format: f, scheme: f.Scheme()})
}

// Perplexity is exp of the mean negative log-likelihood of each token of ids given the
// ones before it, evaluated in windows of at most window tokens (each window starts fresh).
func (g *GPT) Perplexity(ids []int, window int) (float64, error) {
	if window < 2 || window > g.Config.MaxPos {
		return 0, fmt.Errorf("qmodel: window %d outside [2, %d]", window, g.Config.MaxPos)
	}
	if len(ids) < 2 {
		return 0, errors.New("qmodel: perplexity needs at least 2 tokens")
	}
	V := g.Config.VocabSize
	var nll float64
	n := 0
	for lo := 0; lo+1 < len(ids); lo += window {
		win := ids[lo:min(lo+window, len(ids))]
		if len(win) < 2 {
			break
		}
		s, err := g.NewSession(len(win))
		if err != nil {
			return 0, err
		}
		logits, err := s.Forward(win[:len(win)-1])
		if err != nil {
			return 0, err
		}
		for i, next := range win[1:] {
			nll += sample.NLL(logits[i*V:(i+1)*V], next)
			n++
		}
	}
	return math.Exp(nll / float64(n)), nil
}
