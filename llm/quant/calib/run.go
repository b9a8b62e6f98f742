package calib

import (
	"errors"
	"fmt"
	"math"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/gemm"
)

// Runner is a plain float32 Go copy of an [llm.Model]'s blocks (GPT-2 or BERT) that shows
// what happens inside them: the input of every linear layer and every attention map. It
// runs one unpadded sequence at a time through [llm.Block], so the block is the same code
// the GoMLX graph runs.
type Runner struct {
	Config llm.Config

	params  map[string][]float32  // every tensor by HF name; linear weights as [out, in]
	linears map[string]llm.Linear // block linear layers by module name

	// Hook, when set, sees the input [rows, in] of every linear layer before the product
	// and may change it in place (fake-quantize activations, for instance).
	Hook func(module string, x []float32, rows int)
	// Attn, when set, sees the attention probabilities of each layer, [heads, t, t]
	// (row i: query position i over key positions).
	Attn func(layer int, p []float32, t int)
}

// New copies m's weights into a Runner. Only GPT-2 and BERT models are supported.
func New(m *llm.Model) (*Runner, error) {
	if m == nil || m.Weights == nil {
		return nil, errors.New("calib: nil model")
	}
	if m.LoRA != nil {
		return nil, errors.New("calib: the model has LoRA adapters: merge them first (Model.MergeLoRA)")
	}
	c := m.Config
	if c.Arch != llm.GPT && c.Arch != llm.BERT {
		return nil, fmt.Errorf("calib: architecture %q not supported (gpt2 or bert)", c.Arch)
	}
	r := &Runner{Config: c, params: map[string][]float32{}, linears: map[string]llm.Linear{}}
	for _, n := range m.Weights.Names() {
		d, err := m.Weights.Float32(n)
		if err != nil {
			return nil, err
		}
		r.params[n] = d
	}
	for _, l := range c.Linears() {
		w, ok := r.params[l.Module+".weight"]
		if !ok || len(w) != l.In*l.Out {
			return nil, fmt.Errorf("calib: %s.weight missing or not [%d, %d]", l.Module, l.Out, l.In)
		}
		if l.Conv1D {
			r.params[l.Module+".weight"] = Transpose(w, l.In, l.Out)
		}
		r.linears[l.Module] = l
	}
	return r, nil
}

// Linears lists the block linear layers in model order.
func (r *Runner) Linears() []llm.Linear { return r.Config.Linears() }

// Weight returns the [out, in] weight of a block linear layer (the Runner's own copy: do
// not modify it, use SetWeight).
func (r *Runner) Weight(module string) ([]float32, error) {
	if _, ok := r.linears[module]; !ok {
		return nil, fmt.Errorf("calib: no linear layer %q", module)
	}
	return r.params[module+".weight"], nil
}

// SetWeight replaces the [out, in] weight of a block linear layer.
func (r *Runner) SetWeight(module string, w []float32) error {
	l, ok := r.linears[module]
	if !ok {
		return fmt.Errorf("calib: no linear layer %q", module)
	}
	if len(w) != l.In*l.Out {
		return fmt.Errorf("calib: %s: %d weights, want %d×%d", module, len(w), l.Out, l.In)
	}
	r.params[module+".weight"] = w
	return nil
}

// Embed returns the input of the first block for ids, [t, m].
func (r *Runner) Embed(ids []int) ([]float32, error) {
	c := r.Config
	if len(ids) == 0 || len(ids) > c.MaxPos {
		return nil, fmt.Errorf("calib: %d tokens outside [1, %d]", len(ids), c.MaxPos)
	}
	names := c.ModelNames()
	wte, wpe := r.params[names.TokenEmb+".weight"], r.params[names.PosEmb+".weight"]
	m := c.DModel
	x := make([]float32, len(ids)*m)
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("calib: token %d outside the vocabulary [0, %d)", id, c.VocabSize)
		}
		row := x[i*m : (i+1)*m]
		for k := range row {
			row[k] = wte[id*m+k] + wpe[i*m+k]
		}
		if names.TypeEmb != "" {
			tt := r.params[names.TypeEmb+".weight"] // token type 0
			for k := range row {
				row[k] += tt[k]
			}
		}
	}
	if names.EmbLN != "" {
		layerNorm(x, x, r.params[names.EmbLN+".weight"], r.params[names.EmbLN+".bias"], m, c.LayerNormE)
	}
	return x, nil
}

// Block runs block l on x ([t, m]) and returns its output.
func (r *Runner) Block(x []float32, l int) ([]float32, error) {
	m := r.Config.DModel
	if len(x) == 0 || len(x)%m != 0 {
		return nil, fmt.Errorf("calib: %d activations are not rows of %d", len(x), m)
	}
	o := &ops{r: r, t: len(x) / m}
	out := llm.Block(r.Config, llm.BlockOps[[]float32](o), x, l)
	return out, o.err
}

// Hidden runs every block over ids and returns the last hidden state [t, m]; for GPT it is
// after the final LayerNorm (what the LM head reads).
func (r *Runner) Hidden(ids []int) ([]float32, error) {
	x, err := r.Embed(ids)
	if err != nil {
		return nil, err
	}
	for l := range r.Config.Layers {
		if x, err = r.Block(x, l); err != nil {
			return nil, err
		}
	}
	if ln := r.Config.ModelNames().FinalLN; ln != "" {
		layerNorm(x, x, r.params[ln+".weight"], r.params[ln+".bias"], r.Config.DModel, r.Config.LayerNormE)
	}
	return x, nil
}

// Logits returns a GPT's next-token logits [t, vocab] (the LM head is the tied token
// embedding, in float32).
func (r *Runner) Logits(ids []int) ([]float32, error) {
	if r.Config.Arch != llm.GPT {
		return nil, errors.New("calib: Logits needs a GPT")
	}
	h, err := r.Hidden(ids)
	if err != nil {
		return nil, err
	}
	m, v := r.Config.DModel, r.Config.VocabSize
	wte := r.params[r.Config.ModelNames().TokenEmb+".weight"]
	t := len(ids)
	out := make([]float32, t*v)
	for i := 0; i < t; i++ {
		for j := 0; j < v; j++ {
			out[i*v+j] = gemm.Dot(h[i*m:(i+1)*m], wte[j*m:(j+1)*m])
		}
	}
	return out, nil
}

// Inputs runs seqs through the model and returns the input rows of the named linear layers
// (all of them when modules is empty), [Σ tokens, in] per module.
func (r *Runner) Inputs(seqs [][]int, modules ...string) (map[string][]float32, error) {
	want := map[string]bool{}
	for _, n := range modules {
		if _, ok := r.linears[n]; !ok {
			return nil, fmt.Errorf("calib: no linear layer %q", n)
		}
		want[n] = true
	}
	out := map[string][]float32{}
	prev := r.Hook
	defer func() { r.Hook = prev }()
	r.Hook = func(module string, x []float32, rows int) {
		if prev != nil {
			prev(module, x, rows)
		}
		if len(want) == 0 || want[module] {
			out[module] = append(out[module], x...)
		}
	}
	for _, s := range seqs {
		if _, err := r.Hidden(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ops implements llm.BlockOps on row-major float32 slices of t rows.
type ops struct {
	r   *Runner
	t   int
	err error
}

func (o *ops) LayerNorm(x []float32, module string) []float32 {
	w, b := o.r.params[module+".weight"], o.r.params[module+".bias"]
	m := len(x) / o.t
	if len(w) != m || len(b) != m {
		o.fail(fmt.Errorf("calib: no LayerNorm %q of width %d", module, m))
		return x
	}
	out := make([]float32, len(x))
	layerNorm(out, x, w, b, m, o.r.Config.LayerNormE)
	return out
}

func (o *ops) Linear(x []float32, module string) []float32 {
	l, ok := o.r.linears[module]
	if !ok || len(x) != o.t*l.In {
		o.fail(fmt.Errorf("calib: linear %q missing or fed %d values", module, len(x)))
		return make([]float32, o.t*max(l.Out, 1))
	}
	if o.r.Hook != nil {
		x = append([]float32(nil), x...) // the hook may change it; x may be a residual
		o.r.Hook(module, x, o.t)
	}
	return MatMulT(x, o.r.params[module+".weight"], o.r.params[module+".bias"], o.t, l.In, l.Out)
}

func (o *ops) Act(x []float32) []float32 {
	out := make([]float32, len(x))
	tanh := o.r.Config.Activation == "gelu_new" || o.r.Config.Activation == "gelu_pytorch_tanh"
	for i, v := range x {
		out[i] = float32(Gelu(float64(v), tanh))
	}
	return out
}

func (o *ops) Add(x, y []float32) []float32 {
	out := make([]float32, len(x))
	for i := range x {
		out[i] = x[i] + y[i]
	}
	return out
}

func (o *ops) Dropout(x []float32) []float32 { return x }

func (o *ops) SplitQKV(qkv []float32) (q, k, v []float32) {
	m := o.r.Config.DModel
	q, k, v = make([]float32, o.t*m), make([]float32, o.t*m), make([]float32, o.t*m)
	for i := 0; i < o.t; i++ {
		row := qkv[i*3*m : (i+1)*3*m]
		copy(q[i*m:], row[:m])
		copy(k[i*m:], row[m:2*m])
		copy(v[i*m:], row[2*m:])
	}
	return q, k, v
}

func (o *ops) Attention(q, k, v []float32, layer int) []float32 {
	c := o.r.Config
	m, h, t := c.DModel, c.Heads, o.t
	d := m / h
	causal := c.Arch == llm.GPT
	out := make([]float32, t*m)
	probs := make([]float32, h*t*t)
	scale := 1 / math.Sqrt(float64(d))
	for hd := 0; hd < h; hd++ {
		for i := 0; i < t; i++ {
			p := probs[(hd*t+i)*t : (hd*t+i+1)*t]
			n := t
			if causal {
				n = i + 1
			}
			best := math.Inf(-1)
			s := make([]float64, n)
			for j := 0; j < n; j++ {
				s[j] = float64(gemm.Dot(q[i*m+hd*d:i*m+(hd+1)*d], k[j*m+hd*d:j*m+(hd+1)*d])) * scale
				best = math.Max(best, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - best)
				sum += s[j]
			}
			ctx := out[i*m+hd*d : i*m+(hd+1)*d]
			for j := range s {
				p[j] = float32(s[j] / sum)
				gemm.Axpy(p[j], v[j*m+hd*d:j*m+(hd+1)*d], ctx)
			}
		}
	}
	if o.r.Attn != nil {
		o.r.Attn(layer, probs, t)
	}
	return out
}

func (o *ops) CrossAttention(q []float32, kModule, vModule string, layer int) []float32 {
	o.fail(errors.New("calib: encoder-decoder models are not supported"))
	return q
}

func (o *ops) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// MatMulT returns y = x·Wᵀ + b for x [t, in], w [out, in] and b [out] (nil: no bias).
func MatMulT(x, w, b []float32, t, in, out int) []float32 {
	y := make([]float32, t*out)
	gemm.Parallel(out, t*in*out, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			wj := w[j*in : (j+1)*in]
			for i := 0; i < t; i++ {
				v := gemm.Dot(x[i*in:(i+1)*in], wj)
				if b != nil {
					v += b[j]
				}
				y[i*out+j] = v
			}
		}
	})
	return y
}

// Transpose returns the [c, r] transpose of a row-major [r, c] matrix.
func Transpose(a []float32, r, c int) []float32 {
	out := make([]float32, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = a[i*c+j]
		}
	}
	return out
}

// Gelu is GELU, erf form or (tanh) GPT-2's approximation.
func Gelu(x float64, tanh bool) float64 {
	if tanh {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
}

// layerNorm normalises each row of width m of x into dst (dst may be x), in float64.
func layerNorm(dst, x, w, b []float32, m int, eps float64) {
	for i := 0; i+m <= len(x); i += m {
		row := x[i : i+m]
		var mean, v float64
		for _, a := range row {
			mean += float64(a)
		}
		mean /= float64(m)
		for _, a := range row {
			v += (float64(a) - mean) * (float64(a) - mean)
		}
		inv := 1 / math.Sqrt(v/float64(m)+eps)
		out := dst[i : i+m]
		for k, a := range row {
			out[k] = float32((float64(a)-mean)*inv)*w[k] + b[k]
		}
	}
}
