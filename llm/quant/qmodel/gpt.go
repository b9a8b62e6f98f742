package qmodel

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/gemm"
)

// Format is the number format of a model's linear layers.
type Format string

const (
	// F32 keeps float32 weights (gemm.F32): the baseline.
	F32 Format = "fp32"
	// Int8 uses symmetric per-channel int8 weights with dynamically quantized int8
	// activations (gemm.W8A8).
	Int8 Format = "int8"
	// WInt8 uses int8 weights with float32 activations (gemm.WeightOnly).
	WInt8 Format = "wo-int8"
	// Int4 uses symmetric int4 weights in groups of 32 with float32 activations.
	Int4 Format = "int4"
	// W4A8 uses the int4 weights of Int4 with dynamically quantized int8 activations
	// (gemm.W4A8): half the weight bytes of Int8.
	W4A8 Format = "w4a8"
)

// Formats lists every format, baseline first.
var Formats = []Format{F32, Int8, WInt8, Int4, W4A8}

// Scheme returns the quantization scheme of the format (Bits 0 for F32).
func (f Format) Scheme() quant.Scheme {
	switch f {
	case Int8, WInt8:
		return quant.Int8
	case Int4, W4A8:
		return quant.Int4Group32
	}
	return quant.Scheme{}
}

// linearNames are GPT-2's linear layers inside block l (llm's name table), with their
// Conv1D weights [in, out].
func linearNames(c llm.Config, l int) []string {
	var out []string
	for _, lin := range c.Linears() {
		if lin.Layer == l {
			out = append(out, lin.Module)
		}
	}
	return out
}

// layer is one linear layer in the model's format, with its shape.
type layer struct {
	q       quant.Linear
	in, out int
}

// GPT is a GPT-2 decoder in plain Go whose linear layers run on the gemm kernels.
type GPT struct {
	Config   llm.Config
	Format   Format
	wte, wpe []float32               // [v, m], [maxPos, m]
	linears  map[string]layer        // every block's linear layers, by module name
	norms    map[string][2][]float32 // every LayerNorm's weight and bias, by module name
	lnfW     []float32
	lnfB     []float32
	head     quant.Linear // logits = x·wteᵀ, in the model's format

	// capture, when set, sees the input [t, in] of every linear layer (for calibration).
	capture func(module string, x []float32, t int)
}

// param is one float32 tensor copied out of a model: row-major Data with its Shape.
type param struct {
	Shape []int
	Data  []float32
}

// params maps Hugging Face names to float32 tensors.
type params map[string]*param

// modelParams copies every weight of m to float32 (quantization works on Go slices).
func modelParams(m *llm.Model) (params, error) {
	ps := params{}
	for _, n := range m.Weights.Names() {
		data, err := m.Weights.Float32(n)
		if err != nil {
			return nil, err
		}
		ps[n] = &param{Shape: m.Weights.Shape(n), Data: data}
	}
	return ps, nil
}

// weights abstracts where a layer comes from: float32 parameters or a quantized file.
type weights struct {
	params  params                   // float32 tensors by HF name
	quant   map[string]*quant.Tensor // quantized linear weights by module name ([out, in])
	format  Format
	scheme  quant.Scheme
	inOrder bool // params hold Conv1D [in, out] weights
}

func (w *weights) vec(name string, n int) ([]float32, error) {
	p, ok := w.params[name]
	if !ok {
		return nil, fmt.Errorf("qmodel: missing tensor %q", name)
	}
	if len(p.Data) != n {
		return nil, fmt.Errorf("qmodel: tensor %q has %d values, want %d", name, len(p.Data), n)
	}
	return p.Data, nil
}

// linear builds the layer named module with out outputs and in inputs.
func (w *weights) linear(module string, out, in int, conv1D bool) (quant.Linear, error) {
	bias, err := w.vec(module+".bias", out)
	if err != nil {
		return nil, err
	}
	if q, ok := w.quant[module]; ok {
		if q.Rows != out || q.Cols != in {
			return nil, fmt.Errorf("qmodel: %s is [%d, %d], want [%d, %d]", module, q.Rows, q.Cols, out, in)
		}
		return layerOf(q, bias, w.format)
	}
	wt, err := w.vec(module+".weight", out*in)
	if err != nil {
		return nil, err
	}
	if conv1D {
		wt = transpose(wt, in, out)
	}
	return newLayer(wt, bias, out, in, w.format, w.scheme)
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = a[r*cols+c]
		}
	}
	return t
}

// newLayer quantizes w ([out, in]) for the format.
func newLayer(w, bias []float32, out, in int, f Format, s quant.Scheme) (quant.Linear, error) {
	if f == F32 {
		return gemm.NewF32(w, out, in, bias)
	}
	if s.Granularity == quant.PerGroup && in%s.GroupSize != 0 {
		s = quant.Scheme{Bits: s.Bits, Asymmetric: s.Asymmetric}
	}
	q, err := quant.Quantize(w, out, in, s)
	if err != nil {
		return nil, err
	}
	return layerOf(q, bias, f)
}

// layerOf picks the kernel: W8A8 for Int8 with 8-bit per-channel weights, W4A8 for W4A8
// with 4-bit weights in groups of a multiple of 8, weight-only otherwise.
func layerOf(q *quant.Tensor, bias []float32, f Format) (quant.Linear, error) {
	if f == Int8 && q.Scheme.Bits == 8 && q.Scheme.Granularity != quant.PerGroup {
		return quant.NewW8A8(q, bias)
	}
	if f == W4A8 && q.Scheme.Bits == 4 && (q.Scheme.Granularity != quant.PerGroup || q.Scheme.GroupSize%8 == 0) {
		return quant.NewW4A8(q, bias)
	}
	return quant.NewWeightOnly(q, bias)
}

// NewGPT builds the plain-Go decoder of a GPT model with its linear layers (and the LM
// head) quantized to format f with round-to-nearest.
func NewGPT(m *llm.Model, f Format) (*GPT, error) {
	if m.Config.Arch != llm.GPT {
		return nil, fmt.Errorf("qmodel: NewGPT needs a gpt2 model, got %q", m.Config.Arch)
	}
	ps, err := modelParams(m)
	if err != nil {
		return nil, err
	}
	return buildGPT(m.Config, &weights{params: ps, format: f, scheme: f.Scheme()})
}

func buildGPT(c llm.Config, w *weights) (*GPT, error) {
	switch w.format {
	case F32, Int8, WInt8, Int4, W4A8:
	default:
		return nil, fmt.Errorf("qmodel: unknown format %q (have %v)", w.format, Formats)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m, v := c.DModel, c.VocabSize
	g := &GPT{Config: c, Format: w.format}
	var err error
	if g.wte, err = w.vec("transformer.wte.weight", v*m); err != nil {
		return nil, err
	}
	if g.wpe, err = w.vec("transformer.wpe.weight", c.MaxPos*m); err != nil {
		return nil, err
	}
	g.linears, g.norms = map[string]layer{}, map[string][2][]float32{}
	for l := range c.Layers {
		n := c.LayerNames(l)
		for _, ln := range []string{n.LN1, n.LN2} {
			var wb [2][]float32
			if wb[0], err = w.vec(ln+".weight", m); err != nil {
				return nil, err
			}
			if wb[1], err = w.vec(ln+".bias", m); err != nil {
				return nil, err
			}
			g.norms[ln] = wb
		}
	}
	for _, lin := range c.Linears() {
		q, err := w.linear(lin.Module, lin.Out, lin.In, lin.Conv1D)
		if err != nil {
			return nil, err
		}
		g.linears[lin.Module] = layer{q, lin.In, lin.Out}
	}
	if g.lnfW, err = w.vec("transformer.ln_f.weight", m); err != nil {
		return nil, err
	}
	if g.lnfB, err = w.vec("transformer.ln_f.bias", m); err != nil {
		return nil, err
	}
	if g.head, err = newLayer(g.wte, nil, v, m, w.format, w.scheme); err != nil {
		return nil, err
	}
	return g, nil
}

// Bytes is the memory of the linear layers and LM head as the kernels hold them.
func (g *GPT) Bytes() int {
	n := g.head.Bytes()
	for _, l := range g.linears {
		n += l.q.Bytes()
	}
	return n
}

// Session is one sequence being decoded, with its KV cache.
type Session struct {
	g      *GPT
	k, v   [][]float32 // per layer: keys [m, maxLen] (transposed), values [maxLen, m]
	pos    int         // tokens seen so far
	maxLen int
}

// NewSession starts a sequence of at most maxLen tokens (≤ the model's positions).
func (g *GPT) NewSession(maxLen int) (*Session, error) {
	if maxLen <= 0 || maxLen > g.Config.MaxPos {
		return nil, fmt.Errorf("qmodel: session length %d outside [1, %d]", maxLen, g.Config.MaxPos)
	}
	s := &Session{g: g, maxLen: maxLen}
	for range g.Config.Layers {
		s.k = append(s.k, vec(maxLen*g.Config.DModel))
		s.v = append(s.v, vec(maxLen*g.Config.DModel))
	}
	return s, nil
}

// Len is the number of tokens processed so far.
func (s *Session) Len() int { return s.pos }

// MaxLen is the most tokens the session holds.
func (s *Session) MaxLen() int { return s.maxLen }

// Truncate forgets every token after the first n (0 ≤ n ≤ Len): the cached keys and values
// of positions < n stay valid, so a sequence that shares its first n tokens with this one
// can continue from here instead of recomputing them (prompt-prefix reuse). Truncate(0)
// empties the session for a new sequence.
func (s *Session) Truncate(n int) error {
	if n < 0 || n > s.pos {
		return fmt.Errorf("qmodel: truncate to %d tokens outside [0, %d]", n, s.pos)
	}
	s.pos = n
	return nil
}

// Forward appends tokens to the sequence and returns their logits [len(tokens), vocab]:
// row i predicts the token after tokens[i].
func (s *Session) Forward(tokens []int) ([]float32, error) {
	out, err := s.g.forward([]Step{{Session: s, Tokens: tokens}}, false)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Step is one sequence's part of a batched forward pass: tokens to append to Session.
type Step struct {
	Session *Session
	Tokens  []int
}

// ForwardBatch appends the tokens of several sessions in one pass and returns the logits of
// each step: all its rows [len(Tokens), vocab] or, with lastOnly, only the last row [vocab].
//
// The rows of every step are stacked into one matrix, so each linear layer (and the LM
// head) runs once for the whole batch, M = Σ len(Tokens) rows: its weights are read once per
// pass instead of once per sequence, which is what continuous batching gains. Attention runs
// per sequence against that sequence's own KV cache. A step may mix a prompt (many tokens)
// with single decode tokens of other sessions. Every session appears at most once; nothing
// changes when an error is returned.
func (g *GPT) ForwardBatch(steps []Step, lastOnly bool) ([][]float32, error) {
	return g.forward(steps, lastOnly)
}

// forward is the one GPT-2 block loop behind Session.Forward and ForwardBatch.
func (g *GPT) forward(steps []Step, lastOnly bool) ([][]float32, error) {
	c := g.Config
	m := c.DModel
	if len(steps) == 0 {
		return nil, fmt.Errorf("qmodel: no steps")
	}
	t := 0                          // rows of the stacked batch
	row0 := make([]int, len(steps)) // first row of each step
	seen := make(map[*Session]bool, len(steps))
	for i, st := range steps {
		s := st.Session
		switch {
		case s == nil || s.g != g:
			return nil, fmt.Errorf("qmodel: step %d: session of another model (or nil)", i)
		case seen[s]:
			return nil, fmt.Errorf("qmodel: step %d: a session appears twice in one batch", i)
		case len(st.Tokens) == 0:
			return nil, fmt.Errorf("qmodel: no tokens")
		case s.pos+len(st.Tokens) > s.maxLen:
			return nil, fmt.Errorf("qmodel: %d + %d tokens exceed the session length %d", s.pos, len(st.Tokens), s.maxLen)
		}
		seen[s] = true
		row0[i] = t
		t += len(st.Tokens)
	}
	x := vec(t * m) // [t, m]
	for i, st := range steps {
		for j, id := range st.Tokens {
			if id < 0 || id >= c.VocabSize {
				return nil, fmt.Errorf("qmodel: token %d outside the vocabulary [0, %d)", id, c.VocabSize)
			}
			pos, r := st.Session.pos+j, row0[i]+j
			e, p := g.wte[id*m:(id+1)*m], g.wpe[pos*m:(pos+1)*m]
			for k := range m {
				x[r*m+k] = e[k] + p[k]
			}
		}
	}
	ops := &goOps{g: g, steps: steps, row0: row0, t: t}
	for l := range c.Layers {
		ops.arena.reset()
		out := llm.Block(c, llm.BlockOps[rows](ops), rows{x, m, m}, l)
		if ops.err != nil {
			return nil, ops.err
		}
		if &out.d[0] != &x[0] { // keep the residual stream in x across blocks
			out.copyTo(x)
		}
	}
	a := vec(t * m)
	eps := float32(c.LayerNormE)
	for _, st := range steps {
		st.Session.pos += len(st.Tokens)
	}
	rows := t // rows that go through the LM head
	if lastOnly {
		rows = len(steps)
		for i, st := range steps { // gather each step's last row, in place (row i ≤ its last row)
			last := row0[i] + len(st.Tokens) - 1
			copy(x[i*m:(i+1)*m], x[last*m:(last+1)*m])
		}
	}
	layerNorm(a[:rows*m], x[:rows*m], g.lnfW, g.lnfB, rows, m, eps)
	V := c.VocabSize
	logits := vec(rows * V)
	if err := linear(g.head, logits, a[:rows*m], rows, m, V); err != nil {
		return nil, err
	}
	out := make([][]float32, len(steps))
	for i, st := range steps {
		if lastOnly {
			out[i] = logits[i*V : (i+1)*V : (i+1)*V]
		} else {
			out[i] = logits[row0[i]*V : (row0[i]+len(st.Tokens))*V : (row0[i]+len(st.Tokens))*V]
		}
	}
	return out, nil
}

// vec allocates n float32s with 16 spare ones behind them: the SIMD kernels load and store
// the tail of a row with masked 16-lane accesses, which the race detector's pointer checks
// (checkptr) reject when the 16 lanes reach past the end of the allocation.
func vec(n int) []float32 { return make([]float32, n, n+16) }

func (g *GPT) see(module string, x []float32, t int) {
	if g.capture != nil {
		g.capture(module, x, t)
	}
}

// attend stores the new keys and values of layer l in each step's cache and computes causal
// multi-head attention of the step's new queries over all of its cached positions. q, k, v
// and ctx hold the stacked rows of all steps (q, k, v may be strided views of the fused
// c_attn output); step i starts at row0[i]. Keys are cached transposed, [m, maxLen]
// (feature-major), so that gemm.Attend scores 16 positions per vector instruction; values
// stay [maxLen, m].
func (g *GPT) attend(l int, steps []Step, row0 []int, q, k, v rows, ctx []float32) {
	c := g.Config
	m, h := c.DModel, c.Heads
	d := m / h
	var owner []int // step of each row
	work, longest := 0, 0
	for i, st := range steps {
		s, n := st.Session, len(st.Tokens)
		kt, vc := s.k[l], s.v[l]
		for j := 0; j < n; j++ {
			r, pos := row0[i]+j, s.pos+j
			for f, x := range k.row(r) {
				kt[f*s.maxLen+pos] = x
			}
			copy(vc[pos*m:(pos+1)*m], v.row(r))
			owner = append(owner, i)
		}
		work += n * h * (s.pos + n) * d * 2
		longest = max(longest, s.pos+n)
	}
	scale := float32(1 / math.Sqrt(float64(d)))
	// The weights streamed through the caches since the last step evicted this layer's
	// KV cache: read it in once, line by line, before the heads need it. At position 64
	// of GPT-2 small this halved attention's CPU time (0.70 → 0.35 ms per token).
	for _, st := range steps {
		s := st.Session
		n := s.pos + len(st.Tokens)
		kt, vc := s.k[l], s.v[l]
		for f := 0; f < m; f++ {
			warmLines(kt[f*s.maxLen : f*s.maxLen+n])
		}
		warmLines(vc[:n*m])
	}
	// One work item per (row, head): items are independent, so they run in parallel.
	gemm.Parallel(len(owner)*h, work, func(lo, hi int) {
		scores := vec(longest)
		for it := lo; it < hi; it++ {
			r, hd := it/h, it%h
			s := steps[owner[r]].Session
			n := s.pos + (r - row0[owner[r]]) + 1 // causal: keys 0..pos+j
			gemm.Attend(ctx[r*m+hd*d:r*m+(hd+1)*d], q.row(r)[hd*d:(hd+1)*d],
				s.k[l][hd*d*s.maxLen:], s.v[l][hd*d:], n, s.maxLen, m, scale, scores)
		}
	})
}

// warmSink keeps warmLines' loads alive. It is atomic because decoders on different
// goroutines (one per served model, or tests in parallel) warm their caches at once.
var warmSink atomic.Uint32

// warmLines reads one value of every 64-byte line of s (16 float32): independent loads
// that the CPU overlaps, where attention's own loads wait behind its FMAs.
func warmLines(s []float32) {
	var t uint32
	for i := 0; i < len(s); i += 16 {
		t ^= math.Float32bits(s[i])
	}
	if len(s) > 0 {
		t ^= math.Float32bits(s[len(s)-1])
	}
	warmSink.Add(t)
}

// rows is the plain-Go activation of the decoder's BlockOps: row-major rows of width w,
// stride apart in d (stride > w for the q, k, v views of the fused c_attn output).
type rows struct {
	d         []float32
	w, stride int
}

// row returns row r.
func (x rows) row(r int) []float32 { return x.d[r*x.stride : r*x.stride+x.w] }

// contiguous reports whether the rows are packed.
func (x rows) contiguous() bool { return x.stride == x.w }

// copyTo copies t packed rows into dst.
func (x rows) copyTo(dst []float32) {
	for r := 0; r*x.w < len(dst); r++ {
		copy(dst[r*x.w:(r+1)*x.w], x.row(r))
	}
}

// arena hands out the buffers of one block and takes them all back at reset, so a decode
// step allocates nothing once warm.
type arena struct {
	bufs [][]float32
	used int
}

func (a *arena) get(n int) []float32 {
	if a.used < len(a.bufs) && cap(a.bufs[a.used]) >= n+16 {
		b := a.bufs[a.used][:n]
		a.used++
		return b
	}
	b := vec(n)
	if a.used < len(a.bufs) {
		a.bufs[a.used] = b
	} else {
		a.bufs = append(a.bufs, b)
	}
	a.used++
	return b
}

func (a *arena) reset() { a.used = 0 }

// goOps runs llm.Block in plain Go on the quantized kernels: llm's one definition of the
// block, with this package's linear layers, LayerNorm, GELU and cached attention.
type goOps struct {
	g     *GPT
	steps []Step
	row0  []int
	t     int // rows of the stacked batch
	arena arena
	err   error
}

func (o *goOps) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// LayerNorm implements llm.BlockOps.
func (o *goOps) LayerNorm(x rows, module string) rows {
	wb, ok := o.g.norms[module]
	if !ok {
		o.fail(fmt.Errorf("qmodel: no LayerNorm %q", module))
		return x
	}
	out := rows{o.arena.get(o.t * x.w), x.w, x.w}
	layerNorm(out.d, x.d, wb[0], wb[1], o.t, x.w, float32(o.g.Config.LayerNormE))
	return out
}

// Linear implements llm.BlockOps on the model's format (capturing its input for
// calibration when asked).
func (o *goOps) Linear(x rows, module string) rows {
	l, ok := o.g.linears[module]
	if !ok || !x.contiguous() || x.w != l.in {
		o.fail(fmt.Errorf("qmodel: linear %q missing or fed [%d] rows", module, x.w))
		return x
	}
	o.g.see(module, x.d[:o.t*x.w], o.t)
	out := rows{o.arena.get(o.t * l.out), l.out, l.out}
	if err := linear(l.q, out.d, x.d, o.t, l.in, l.out); err != nil {
		o.fail(err)
	}
	return out
}

// Act implements llm.BlockOps: GELU (tanh form, GPT-2's gelu_new) in place.
func (o *goOps) Act(x rows) rows {
	geluTanh(x.d[:o.t*x.w])
	return x
}

// Add implements llm.BlockOps: the residual sum, in place on x.
func (o *goOps) Add(x, y rows) rows {
	add(x.d[:o.t*x.w], y.d[:o.t*y.w])
	return x
}

// Dropout implements llm.BlockOps (inference: identity).
func (o *goOps) Dropout(x rows) rows { return x }

// SplitQKV implements llm.BlockOps: strided views of the fused output, no copy.
func (o *goOps) SplitQKV(qkv rows) (q, k, v rows) {
	m := qkv.w / 3
	return rows{qkv.d, m, qkv.w}, rows{qkv.d[m:], m, qkv.w}, rows{qkv.d[2*m:], m, qkv.w}
}

// Attention implements llm.BlockOps with each session's KV cache.
func (o *goOps) Attention(q, k, v rows, layer int) rows {
	m := o.g.Config.DModel
	ctx := rows{o.arena.get(o.t * m), m, m}
	o.g.attend(layer, o.steps, o.row0, q, k, v, ctx.d)
	return ctx
}

// CrossAttention implements llm.BlockOps; a GPT-2 decoder has none.
func (o *goOps) CrossAttention(q rows, kModule, vModule string, layer int) rows {
	o.fail(fmt.Errorf("qmodel: block %d asks for cross-attention, which a GPT-2 decoder has no encoder for", layer))
	return q
}

// layerNorm writes (x − mean)/√(var + eps)·w + b for each of the t rows of x into dst.
func layerNorm(dst, x, w, b []float32, t, m int, eps float32) {
	for i := 0; i < t; i++ {
		row, out := x[i*m:(i+1)*m], dst[i*m:(i+1)*m]
		out = out[:len(row)]
		// Mean and variance in float32 with four partial sums (the rows are short and
		// O(1)-sized, so float32 sums lose nothing visible; four chains run in parallel).
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(row); j += 4 {
			s0, s1, s2, s3 = s0+row[j], s1+row[j+1], s2+row[j+2], s3+row[j+3]
		}
		for ; j < len(row); j++ {
			s0 += row[j]
		}
		mean := (s0 + s1 + s2 + s3) / float32(m)
		s0, s1, s2, s3 = 0, 0, 0, 0
		for j = 0; j+4 <= len(row); j += 4 {
			d0, d1, d2, d3 := row[j]-mean, row[j+1]-mean, row[j+2]-mean, row[j+3]-mean
			s0, s1, s2, s3 = s0+d0*d0, s1+d1*d1, s2+d2*d2, s3+d3*d3
		}
		for ; j < len(row); j++ {
			d := row[j] - mean
			s0 += d * d
		}
		inv := float32(1 / math.Sqrt(float64((s0+s1+s2+s3)/float32(m)+eps)))
		w, b := w[:len(row)], b[:len(row)]
		for j, v := range row {
			out[j] = (v-mean)*inv*w[j] + b[j]
		}
	}
}

// linear runs l on the t rows of x into y. From splitRows rows on, the rows are cut in two
// halves computed at once on two goroutines: a batch of decode rows is too small for the
// kernels' own split across cores (by output panels, from 2²⁰ multiply-adds), yet big
// enough that two cores finish it sooner. Each row's result is the same either way.
func linear(l quant.Linear, y, x []float32, t, in, out int) error {
	if t < splitRows || runtime.GOMAXPROCS(0) < 2 {
		return l.Forward(y, x, t)
	}
	h := t / 2
	errc := make(chan error, 1)
	go func() { errc <- l.Forward(y[h*out:t*out], x[h*in:t*in], t-h) }()
	err := l.Forward(y[:h*out], x[:h*in], h)
	return errors.Join(err, <-errc)
}

// splitRows is the batch from which linear uses two goroutines.
const splitRows = 8

// geluTanh applies GPT-2's gelu_new in place: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluTanh(x []float32) { gemm.GeluTanh(x) }

func add(x, y []float32) {
	for i := range x {
		x[i] += y[i]
	}
}
