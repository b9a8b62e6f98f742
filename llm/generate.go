package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/sample"
	"github.com/gomlx/compute"
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

// sampling returns the options of the sampler (llm/sample).
func (o GenerateOptions) sampling() sample.Options {
	return sample.Options{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}
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
	if o.MaxTokens < 0 {
		return nil, fmt.Errorf("generate: max tokens %d must be ≥ 0", o.MaxTokens)
	}
	if err := o.sampling().Validate(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	for _, id := range prompt {
		if id < 0 || id >= m.Config.VocabSize {
			return nil, fmt.Errorf("generate: token id %d outside the vocabulary", id)
		}
	}
	if o.MaxTokens > m.Config.MaxPos || len(prompt)+o.MaxTokens > m.Config.MaxPos {
		return nil, fmt.Errorf("generate: prompt (%d) + max tokens (%d) exceed the model's %d positions", len(prompt), o.MaxTokens, m.Config.MaxPos)
	}
	total := len(prompt) + o.MaxTokens
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
		probs := sample.Distribution(logits, o.sampling())
		id := sample.Pick(probs, o.Temperature == 0, r)
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

// top returns the n most likely candidates of p.
func (m *Model) top(p []float64, n int) []Candidate {
	out := make([]Candidate, 0, n)
	for _, i := range sample.TopK(p, n) {
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
	names  []string
	exec   *Exec
	kc, vc []*tensors.Tensor // per layer [1, h, T, d]
	pos    int
	maxLen int
}

func (m *Model) newDecoder(maxLen int) (*decoder, error) {
	c := m.Config
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.Weights.Names()
	lora := m.loraScales()
	e, err := m.exec(fmt.Sprintf("decode/%d/%d", maxLen, m.Weights.layout()), func(be compute.Backend) (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			P, L := len(names), c.Layers
			kc, vc := in[P:P+L], in[P+L:P+2*L]
			tok, pos := in[P+2*L], in[P+2*L+1]
			logits, kc2, vc2 := decodeStep(c, paramNodes(names, in[:P]), lora, kc, vc, tok, pos)
			return append(append([]*Node{logits}, kc2...), vc2...)
		})
	})
	if err != nil {
		return nil, err
	}
	d := &decoder{m: m, exec: e, maxLen: maxLen, names: names}
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
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	args := make([]any, 0, len(d.names)+2*len(d.kc)+2)
	for _, t := range d.m.Weights.tensorList(d.names) {
		args = append(args, t)
	}
	for _, t := range append(append([]*tensors.Tensor(nil), d.kc...), d.vc...) {
		dt, err := DonateTensorBuffer(t, be, 0)
		if err != nil {
			return nil, err
		}
		args = append(args, dt)
	}
	args = append(args, tensors.FromFlatDataAndDimensions([]int32{int32(tokens[d.pos])}, 1, 1), int32(d.pos))
	res, err := execute(d.exec, args)
	if err != nil {
		return nil, fmt.Errorf("decode step %d: %w", d.pos, err)
	}
	L := len(d.kc)
	d.kc, d.vc = res[1:1+L], res[1+L:1+2*L]
	d.pos++
	return tensors.MustCopyFlatData[float32](res[0]), nil
}
