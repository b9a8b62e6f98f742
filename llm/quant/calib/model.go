package calib

import (
	"errors"
	"fmt"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
)

// Method is how a whole model's linear weights are rounded.
type Method string

const (
	RTN  Method = "rtn"  // round to nearest ([quant.Quantize])
	GPTQ Method = "gptq" // Hessian-based error compensation ([quant.GPTQ])
	AWQ  Method = "awq"  // activation-aware channel scaling, then RTN ([quant.AWQ])
	NF4  Method = "nf4"  // 4-bit NormalFloat blocks ([quant.QuantizeNF4]), QLoRA's base format
)

// Options configures [Quantize].
type Options struct {
	Scheme quant.Scheme // RTN, GPTQ, AWQ: bits, granularity, clipping
	Method Method       // default RTN
	// Calib holds the calibration sequences (token ids, each at most the model's positions)
	// whose layer inputs GPTQ and AWQ use; with RTN and NF4 they only measure the output
	// error of each layer.
	Calib [][]int
	GPTQ  quant.GPTQOptions
	// Sequential (GPTQ, AWQ) takes each layer's calibration inputs from the model whose
	// earlier layers are already quantized, as the GPTQ reference does, so a layer
	// compensates for the errors before it. Otherwise every layer sees float32 inputs.
	Sequential bool
	AWQGrid    int // α grid of AWQ (default 20)
	// Inputs, when set, are the float32 model's inputs of every linear layer on Calib, as
	// [Runner.Inputs] returns them: callers quantizing one model several ways compute them
	// once and share them. Only used without Sequential.
	Inputs map[string][]float32
	// Roots, when set, are [GramRoot]s of Inputs by module ([GramRoots]), shared by
	// several GPTQ calls on the same inputs. Only used without Sequential.
	Roots    map[string][]float32
	NF4Block int // NF4 block size (default 64)
}

// OutputRows bounds the calibration rows on which Layer.Output is measured (the first ones).
const OutputRows = 2048

// Layer reports one quantized linear layer.
type Layer struct {
	llm.Linear
	Weight quant.Metrics // the dequantized weight against the float32 one
	// Output compares x·Ŵᵀ with x·Wᵀ on the layer's calibration inputs (the float32
	// model's first OutputRows rows, so every method is measured on the same x); zero
	// without Calib.
	Output quant.Metrics
	Bytes  int           // storage of the quantized weight (codes, scales, zero points)
	Tensor *quant.Tensor // the codes (nil for NF4); AWQ's hold Q(W·diag(s))
	Scales []float32     // AWQ's per-input-channel factors s
}

// Result is the outcome of [Quantize].
type Result struct {
	// Model is a copy of the input model whose block linear weights are replaced by their
	// dequantized values ("fake quantization"): it runs on the usual float32 code and gives
	// exactly the quantized model's outputs. Embeddings, LayerNorms, biases and heads stay
	// float32.
	Model      *llm.Model
	Layers     []Layer
	FloatBytes int // the quantized weights' size in float32
	QuantBytes int // their quantized size
}

// Quantize quantizes every block linear layer of m (GPT-2 or BERT) with the chosen method
// and returns the fake-quantized copy with a per-layer report. m is not modified.
func Quantize(m *llm.Model, o Options) (*Result, error) {
	if o.Method == "" {
		o.Method = RTN
	}
	switch o.Method {
	case RTN, GPTQ, AWQ:
		if err := o.Scheme.Validate(); err != nil {
			return nil, err
		}
	case NF4:
		if o.NF4Block == 0 {
			o.NF4Block = 64
		}
	default:
		return nil, fmt.Errorf("calib: unknown method %q (rtn, gptq, awq or nf4)", o.Method)
	}
	if (o.Method == GPTQ || o.Method == AWQ) && len(o.Calib) == 0 {
		return nil, fmt.Errorf("calib: %s needs calibration sequences (Options.Calib)", o.Method)
	}
	if o.AWQGrid == 0 {
		o.AWQGrid = 20
	}
	r, err := New(m)
	if err != nil {
		return nil, err
	}
	ref, err := New(m) // float32 inputs for the output error, and the original weights
	if err != nil {
		return nil, err
	}
	var fx map[string][]float32 // float32 model's inputs per layer
	if o.Inputs != nil {
		fx = o.Inputs
	} else if len(o.Calib) > 0 {
		if fx, err = ref.Inputs(o.Calib); err != nil {
			return nil, err
		}
	}
	seq := o.Sequential && (o.Method == GPTQ || o.Method == AWQ)
	var hs [][]float32 // block inputs of every calibration sequence (sequential)
	if seq {
		for _, s := range o.Calib {
			x, err := r.Embed(s)
			if err != nil {
				return nil, err
			}
			hs = append(hs, x)
		}
	}
	res := &Result{}
	for l := range r.Config.Layers {
		for _, lin := range r.Config.Linears() {
			if lin.Layer != l {
				continue
			}
			x := fx[lin.Module]
			if seq {
				if x, err = blockInputs(r, hs, l, lin.Module); err != nil {
					return nil, err
				}
			}
			lay, deq, err := quantizeLayer(ref, lin, x, o)
			if err != nil {
				return nil, fmt.Errorf("calib: %s: %w", lin.Module, err)
			}
			if fx != nil {
				w, _ := ref.Weight(lin.Module)
				xf := fx[lin.Module]
				xf = xf[:min(len(xf), OutputRows*lin.In)]
				n := len(xf) / lin.In
				lay.Output, _ = quant.Compare(MatMulT(xf, w, nil, n, lin.In, lin.Out), MatMulT(xf, deq, nil, n, lin.In, lin.Out))
			}
			if err := r.SetWeight(lin.Module, deq); err != nil {
				return nil, err
			}
			res.Layers = append(res.Layers, lay)
			res.FloatBytes += 4 * lin.In * lin.Out
			res.QuantBytes += lay.Bytes
		}
		if seq { // the next block sees this one quantized
			for i := range hs {
				if hs[i], err = r.Block(hs[i], l); err != nil {
					return nil, err
				}
			}
		}
	}
	w, err := m.Weights.Clone()
	if err != nil {
		return nil, err
	}
	for _, lin := range r.Config.Linears() {
		d, _ := r.Weight(lin.Module)
		if lin.Conv1D {
			d = Transpose(d, lin.Out, lin.In)
		}
		name := lin.Module + ".weight"
		if err := w.Set(name, w.Shape(name), d); err != nil {
			return nil, err
		}
	}
	res.Model = &llm.Model{Config: m.Config, Weights: w, Tokenizer: m.Tokenizer}
	return res, nil
}

// blockInputs runs block l of r over every sequence's block input and returns the input
// rows of one of its linear layers.
func blockInputs(r *Runner, hs [][]float32, l int, module string) ([]float32, error) {
	var x []float32
	prev := r.Hook
	defer func() { r.Hook = prev }()
	r.Hook = func(name string, in []float32, rows int) {
		if name == module {
			x = append(x, in...)
		}
	}
	for _, h := range hs {
		if _, err := r.Block(h, l); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// quantizeLayer quantizes one layer of ref's float32 weights with inputs x (may be nil for
// RTN and NF4) and returns its report and the dequantized effective weight [out, in].
func quantizeLayer(ref *Runner, lin llm.Linear, x []float32, o Options) (Layer, []float32, error) {
	w, err := ref.Weight(lin.Module)
	if err != nil {
		return Layer{}, nil, err
	}
	rows, cols := lin.Out, lin.In
	lay := Layer{Linear: lin}
	var deq []float32
	switch o.Method {
	case RTN:
		q, err := quant.Quantize(w, rows, cols, o.Scheme)
		if err != nil {
			return lay, nil, err
		}
		lay.Tensor, lay.Bytes, deq = q, q.Bytes(), q.Dequantize()
	case GPTQ:
		if len(x) == 0 {
			return lay, nil, errors.New("no calibration inputs")
		}
		// GPTQ only needs xᵀx: hand it a [cols, cols] root of it instead of every row.
		xr, ok := o.Roots[lin.Module]
		if !ok || o.Sequential {
			xr = GramRoot(x, len(x)/cols, cols)
		}
		q, err := quant.GPTQ(w, rows, cols, xr, len(xr)/cols, o.Scheme, o.GPTQ)
		if err != nil {
			return lay, nil, err
		}
		lay.Tensor, lay.Bytes, deq = q, q.Bytes(), q.Dequantize()
	case AWQ:
		if len(x) == 0 {
			return lay, nil, errors.New("no calibration inputs")
		}
		a, err := quant.AWQ(w, rows, cols, x, len(x)/cols, o.Scheme, o.AWQGrid)
		if err != nil {
			return lay, nil, err
		}
		deq = a.Tensor.Dequantize() // Q(W·diag(s)); the layer divides its inputs by s
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				deq[r*cols+c] /= a.Scales[c]
			}
		}
		lay.Tensor, lay.Scales, lay.Bytes = a.Tensor, a.Scales, a.Tensor.Bytes()+4*cols
	case NF4:
		q, err := quant.QuantizeNF4(w, rows, cols, o.NF4Block)
		if err != nil {
			return lay, nil, err
		}
		lay.Bytes, deq = q.Bytes(), q.Dequantize()
	}
	lay.Weight, _ = quant.Compare(w, deq)
	return lay, deq, nil
}
