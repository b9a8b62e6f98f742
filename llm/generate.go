package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/divellm/divellm/llm/attention"
	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// GenerateOptions controls sampling. The zero value is greedy decoding of 32 tokens.
type GenerateOptions struct {
	MaxTokens   int     // tokens to generate (default 32)
	Temperature float64 // 0 = greedy (argmax); otherwise logits are divided by it
	TopK        int     // keep only the K most likely tokens (0 = all)
	TopP        float64 // nucleus sampling: keep the smallest set with mass ≥ TopP (0 or 1 = all)
	Seed        uint64  // sampling seed
	StopAtEOS   bool    // stop when the EOS / <|endoftext|> token is produced
	NoCache     bool    // recompute the whole sequence every step instead of using the KV cache
	TopN        int     // record the N most likely candidates of each step (default 5)
}

// Candidate is one possible next token with its probability.
type Candidate struct {
	ID    int     `json:"id"`
	Token string  `json:"token"`
	Prob  float64 `json:"prob"`
}

// GenStep describes one generated token.
type GenStep struct {
	ID         int           `json:"id"`
	Token      string        `json:"token"`
	Prob       float64       `json:"prob"` // probability of the chosen token (after temperature)
	Candidates []Candidate   `json:"candidates"`
	Latency    time.Duration `json:"latency_ns"`
}

// GenerateResult is the output of [Model.Generate].
type GenerateResult struct {
	PromptIDs []int     `json:"prompt_ids"`
	IDs       []int     `json:"ids"` // generated ids only
	Text      string    `json:"text"`
	Steps     []GenStep `json:"steps"`
	Prefill   time.Duration
	Decode    time.Duration
}

// TokensPerSec is the decode throughput.
func (r *GenerateResult) TokensPerSec() float64 {
	if r.Decode <= 0 {
		return 0
	}
	return float64(len(r.IDs)) / r.Decode.Seconds()
}

// Generate continues a prompt with a GPT model. The prompt is tokenized with the model's
// tokenizer; use [Model.GenerateIDs] to pass ids.
func (m *Model) Generate(prompt string, o GenerateOptions) (*GenerateResult, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("generate: the model has no tokenizer")
	}
	var ids []int
	for _, t := range m.Tokenizer.Encode(prompt) {
		ids = append(ids, t.ID)
	}
	if len(ids) == 0 {
		if sp := m.Tokenizer.Specials(); sp.BOS >= 0 {
			ids = []int{sp.BOS}
		} else {
			return nil, fmt.Errorf("generate: empty prompt")
		}
	}
	res, err := m.GenerateIDs(ids, o)
	if err != nil {
		return nil, err
	}
	res.Text = m.Tokenizer.Decode(res.IDs)
	return res, nil
}

// GenerateIDs continues prompt ids, with a KV cache unless o.NoCache.
func (m *Model) GenerateIDs(prompt []int, o GenerateOptions) (*GenerateResult, error) {
	if m.Config.Arch != GPT {
		return nil, fmt.Errorf("generate: %s is an encoder; use FillMask", m.Config.Arch)
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 32
	}
	if o.TopN == 0 {
		o.TopN = 5
	}
	if o.MaxTokens < 0 || o.Temperature < 0 || o.TopK < 0 || o.TopP < 0 || o.TopP > 1 {
		return nil, fmt.Errorf("generate: max tokens, temperature, top-k must be ≥ 0 and top-p in [0, 1]")
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	for _, id := range prompt {
		if id < 0 || id >= m.Config.VocabSize {
			return nil, fmt.Errorf("generate: token id %d outside the vocabulary", id)
		}
	}
	total := len(prompt) + o.MaxTokens
	if total > m.Config.MaxPos {
		return nil, fmt.Errorf("generate: prompt (%d) + max tokens (%d) exceed the model's %d positions", len(prompt), o.MaxTokens, m.Config.MaxPos)
	}
	r := rand.New(rand.NewPCG(o.Seed, 7))
	res := &GenerateResult{PromptIDs: append([]int(nil), prompt...)}
	var step func(tokens []int) ([]float32, error) // returns logits of the last token
	if o.NoCache {
		step = func(tokens []int) ([]float32, error) { return m.fullLogits(tokens, total) }
	} else {
		// Round the cache length up to a multiple of 64 so prompts of different lengths
		// share one compiled decode graph.
		dec, err := m.newDecoder(min(m.Config.MaxPos, (total+63)/64*64))
		if err != nil {
			return nil, err
		}
		step = dec.next
	}
	t0 := time.Now()
	var logits []float32
	var err error
	seq := append([]int(nil), prompt...)
	if o.NoCache {
		logits, err = step(seq)
	} else {
		for i := range prompt {
			if logits, err = step(seq[:i+1]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	res.Prefill = time.Since(t0)
	eos := -1
	if m.Tokenizer != nil {
		eos = m.Tokenizer.Specials().EOS
	}
	banned := m.bannedIDs()
	t1 := time.Now()
	for range o.MaxTokens {
		ts := time.Now()
		for _, id := range banned {
			logits[id] = float32(math.Inf(-1)) // never sample [PAD], [CLS], [MASK], …
		}
		probs := sampleProbs(logits, o)
		id := pick(probs, o, r)
		st := GenStep{ID: id, Prob: probs[id], Candidates: m.top(probs, o.TopN), Latency: time.Since(ts)}
		if m.Tokenizer != nil {
			st.Token = m.Tokenizer.IDToToken(id)
		}
		seq = append(seq, id)
		res.IDs = append(res.IDs, id)
		if o.StopAtEOS && id == eos {
			res.Steps = append(res.Steps, st)
			break
		}
		if len(res.IDs) < o.MaxTokens {
			if logits, err = step(seq); err != nil {
				return nil, err
			}
		}
		st.Latency = time.Since(ts)
		res.Steps = append(res.Steps, st)
	}
	res.Decode = time.Since(t1)
	return res, nil
}

// bannedIDs are special tokens a decoder should never produce ([PAD], [UNK], [CLS],
// [SEP], [MASK]); the end-of-text token stays allowed.
func (m *Model) bannedIDs() []int {
	if m.Tokenizer == nil {
		return nil
	}
	sp := m.Tokenizer.Specials()
	var out []int
	for _, id := range []int{sp.PAD, sp.UNK, sp.CLS, sp.SEP, sp.MASK} {
		if id >= 0 && id < m.Config.VocabSize && id != sp.EOS {
			out = append(out, id)
		}
	}
	return out
}

// sampleProbs turns logits into the distribution to sample from (temperature, top-k, top-p).
func sampleProbs(logits []float32, o GenerateOptions) []float64 {
	n := len(logits)
	p := make([]float64, n)
	t := o.Temperature
	if t == 0 {
		t = 1
	}
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = max(mx, float64(l)/t)
	}
	var sum float64
	for i, l := range logits {
		p[i] = math.Exp(float64(l)/t - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	if o.Temperature == 0 || (o.TopK == 0 && (o.TopP == 0 || o.TopP >= 1)) {
		return p
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	keep := n
	if o.TopK > 0 {
		keep = min(keep, o.TopK)
	}
	if o.TopP > 0 && o.TopP < 1 {
		var mass float64
		for i := range keep {
			mass += p[order[i]]
			if mass >= o.TopP {
				keep = i + 1
				break
			}
		}
	}
	out := make([]float64, n)
	sum = 0
	for _, i := range order[:keep] {
		out[i] = p[i]
		sum += p[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func pick(p []float64, o GenerateOptions, r *rand.Rand) int {
	if o.Temperature == 0 {
		best := 0
		for i := range p {
			if p[i] > p[best] {
				best = i
			}
		}
		return best
	}
	u := r.Float64()
	var c float64
	last := 0
	for i, x := range p {
		if x == 0 {
			continue
		}
		c += x
		last = i
		if u < c {
			return i
		}
	}
	return last
}

func (m *Model) top(p []float64, n int) []Candidate {
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	out := make([]Candidate, 0, n)
	for _, i := range order[:min(n, len(order))] {
		c := Candidate{ID: i, Prob: p[i]}
		if m.Tokenizer != nil {
			c.Token = m.Tokenizer.IDToToken(i)
		}
		out = append(out, c)
	}
	return out
}

// fullLogits runs the whole sequence (padded to a fixed length so one graph serves every
// step) and returns the logits at its last token: generation without a KV cache.
func (m *Model) fullLogits(tokens []int, padTo int) ([]float32, error) {
	ids := make([]int, padTo)
	copy(ids, tokens)
	out, err := m.Forward(Batch{IDs: [][]int{ids}}, ForwardOptions{})
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), out.Logits.Row(0, len(tokens)-1)...), nil
}

// decoder runs a GPT one token at a time, keeping every layer's keys and values in a
// KV cache [layers, b, h, T, d] so each step attends to the past without recomputing it.
type decoder struct {
	m      *Model
	exec   *Exec
	kc, vc []*tensors.Tensor // per layer [1, h, T, d]
	pos    int
	maxLen int
}

func (m *Model) newDecoder(maxLen int) (*decoder, error) {
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	c := m.Config
	names := m.Params.Names()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.exec(fmt.Sprintf("decode/%d", maxLen), func() (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			P, L := len(names), c.Layers
			p := paramNodes(names, in[:P])
			kc, vc := in[P:P+L], in[P+L:P+2*L]
			tok, pos := in[P+2*L], in[P+2*L+1]
			n := &net{c: c, p: p}
			logits, kc2, vc2 := n.decodeStep(kc, vc, tok, pos)
			return append(append([]*Node{logits}, kc2...), vc2...)
		})
	})
	if err != nil {
		return nil, err
	}
	d := &decoder{m: m, exec: e, maxLen: maxLen}
	for range c.Layers {
		sh := shapeOf(dtypes.Float32, 1, c.Heads, maxLen, c.HeadDim())
		d.kc = append(d.kc, tensors.FromShape(sh))
		d.vc = append(d.vc, tensors.FromShape(sh))
	}
	return d, nil
}

// next feeds the last token of tokens (tokens[:len-1] must already be in the cache) and
// returns the logits for the token after it.
func (d *decoder) next(tokens []int) ([]float32, error) {
	if len(tokens) != d.pos+1 {
		return nil, fmt.Errorf("decoder: cache holds %d tokens, got a sequence of %d", d.pos, len(tokens))
	}
	if d.pos >= d.maxLen {
		return nil, fmt.Errorf("decoder: KV cache of %d positions is full", d.maxLen)
	}
	be := backend.MustGet()
	args := make([]any, 0, len(d.m.Params)+4)
	d.m.mu.Lock()
	for _, t := range d.m.paramTensors() {
		args = append(args, t)
	}
	d.m.mu.Unlock()
	for _, t := range append(append([]*tensors.Tensor(nil), d.kc...), d.vc...) {
		dt, err := DonateTensorBuffer(t, be, 0)
		if err != nil {
			return nil, err
		}
		args = append(args, dt)
	}
	args = append(args, tensors.FromFlatDataAndDimensions([]int32{int32(tokens[d.pos])}, 1, 1), int32(d.pos))
	var res []*tensors.Tensor
	err := backend.Catch(func() error {
		var e error
		res, e = d.exec.Exec(args...)
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("decode step %d: %w", d.pos, err)
	}
	L := len(d.kc)
	d.kc, d.vc = res[1:1+L], res[1+L:1+2*L]
	d.pos++
	return tensors.MustCopyFlatData[float32](res[0]), nil
}

// decodeStep is one GPT-2 step for a single new token tok [1, 1] at position pos (int32
// scalar), reading and updating the per-layer KV caches kc, vc [1, h, T, d].
//
// The Go backend has no DynamicUpdateSlice, so the new key is written with a one-hot
// select over the time axis: cache = where(t == pos, k, cache). It costs one pass over the
// cache, the same order as attention itself.
func (n *net) decodeStep(kc, vc []*Node, tok, pos *Node) (logits *Node, kcOut, vcOut []*Node) {
	c := n.c
	m := c.DModel
	T := kc[0].Shape().Dimensions[2]
	g := tok.Graph()
	at := Reshape(Equal(Iota(g, shapeOf(dtypes.Int32, T), 0), ConvertDType(pos, dtypes.Int32)), 1, 1, T, 1) // [1, 1, T, 1]
	x := Gather(n.w("transformer.wte.weight"), InsertAxes(tok, -1))                                         // [1, 1, m]
	x = Add(x, InsertAxes(Gather(n.w("transformer.wpe.weight"), Reshape(pos, 1, 1)), 0))                    // + wpe[pos]
	mask := attention.CausalMaskAt(1, T, pos)                                                               // [1, 1, 1, T]: keys ≤ pos
	for l := range c.Layers {
		p := fmt.Sprintf("transformer.h.%d.", l)
		a := n.layerNorm(x, p+"ln_1")
		qkv := n.conv1D(a, p+"attn.c_attn")                                                           // [1, 1, 3m]
		q := attention.SplitHeads(Slice(qkv, AxisRange(), AxisRange(), AxisRange(0, m)), c.Heads)     // [1, h, 1, d]
		k := attention.SplitHeads(Slice(qkv, AxisRange(), AxisRange(), AxisRange(m, 2*m)), c.Heads)   // [1, h, 1, d]
		v := attention.SplitHeads(Slice(qkv, AxisRange(), AxisRange(), AxisRange(2*m, 3*m)), c.Heads) // [1, h, 1, d]
		dims := kc[l].Shape().Dimensions
		atB := BroadcastToDims(at, dims...)
		kl := Where(atB, BroadcastToDims(k, dims...), kc[l]) // write this token's key at time pos
		vl := Where(atB, BroadcastToDims(v, dims...), vc[l])
		kcOut, vcOut = append(kcOut, kl), append(vcOut, vl)
		ctx, _ := attention.ScaledDotProduct(q, kl, vl, mask) // [1, h, 1, d]
		x = Add(x, n.conv1D(attention.MergeHeads(ctx), p+"attn.c_proj"))
		f := n.act(n.conv1D(n.layerNorm(x, p+"ln_2"), p+"mlp.c_fc"))
		x = Add(x, n.conv1D(f, p+"mlp.c_proj"))
	}
	x = n.layerNorm(x, "transformer.ln_f")
	logits = Reshape(Einsum("bsm,vm->bsv", x, n.w("transformer.wte.weight")), c.VocabSize) // [v]
	return logits, kcOut, vcOut
}

// MaskPrediction is the top candidates for one [MASK] position.
type MaskPrediction struct {
	Position   int         `json:"position"` // token index in the encoded input
	Candidates []Candidate `json:"candidates"`
}

// FillMask predicts every [MASK] token of text with a BERT model and returns the top-k
// candidates with probabilities for each.
func (m *Model) FillMask(text string, topK int) ([]MaskPrediction, []tokenizer.Token, error) {
	if m.Config.Arch != BERT || !m.Heads().MLM {
		return nil, nil, fmt.Errorf("fill-mask: needs a BERT model with an MLM head")
	}
	if m.Tokenizer == nil {
		return nil, nil, fmt.Errorf("fill-mask: the model has no tokenizer")
	}
	if topK <= 0 {
		topK = 5
	}
	ids, toks := tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	maskID := m.Tokenizer.Specials().MASK
	var positions []int
	for i, id := range ids {
		if id == maskID {
			positions = append(positions, i)
		}
	}
	if len(positions) == 0 {
		return nil, toks, fmt.Errorf("fill-mask: the text has no [MASK] token")
	}
	out, err := m.Forward(Batch{IDs: [][]int{ids}}, ForwardOptions{})
	if err != nil {
		return nil, toks, err
	}
	var preds []MaskPrediction
	for _, pos := range positions {
		probs := sampleProbs(out.Logits.Row(0, pos), GenerateOptions{})
		preds = append(preds, MaskPrediction{Position: pos, Candidates: m.top(probs, topK)})
	}
	return preds, toks, nil
}
