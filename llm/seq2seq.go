package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/divellm/divellm/llm/attention"
	"github.com/divellm/divellm/llm/sample"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// This file is the encoder-decoder (BART, Lewis et al. 2019): the third Transformer
// family beside the encoder (BERT) and the decoder (GPT-2).
//
//	memory = Encoder(x)                   bidirectional blocks over the source   [b, s, m]
//	y      = Decoder(y_<t, memory)        causal blocks over the target so far,
//	                                      each with cross-attention to memory   [b, t, m]
//	p(y_t) = softmax(y·Eᵀ + bias)         the LM head, tied to the shared embedding E
//
// Cross-attention is ordinary attention whose queries come from the decoder and whose keys
// and values come from the encoder's output: softmax(Q_dec·K_encᵀ/√d)·V_enc. Its weights,
// one row per target token over the source tokens, show which source tokens each output
// token reads (Output.CrossAttentions). The blocks are [Block]; BART's names follow
// Hugging Face's BartForConditionalGeneration.

// CrossAttention implements BlockOps: q [b, t, m] over the encoder memory [b, s, m],
// projected with kModule and vModule, masked by the source padding.
func (o *graphOps) CrossAttention(q *Node, kModule, vModule string, layer int) *Node {
	if o.memory == nil {
		exceptions.Panicf("cross-attention in block %d without an encoder output", layer)
	}
	h := o.c.Heads
	k, v := o.Linear(o.memory, kModule), o.Linear(o.memory, vModule)
	ctx, probs := attention.ScaledDotProduct(attention.SplitHeads(q, h), attention.SplitHeads(k, h), attention.SplitHeads(v, h), o.memMask)
	if o.keep {
		o.cross = append(o.cross, probs) // [b, h, t, s]
	}
	return attention.MergeHeads(ctx)
}

// embedBART returns LayerNorm(E[ids] + P[pos + 2]) for one stack (BART's learned
// positions start at row 2), with dropout.
func (o *graphOps) embedBART(ids *Node, pos, ln string) *Node {
	g := ids.Graph()
	s := ids.Shape().Dimensions[1]
	if s > o.c.MaxPos {
		exceptions.Panicf("sequence of %d tokens is longer than the model's %d positions", s, o.c.MaxPos)
	}
	n := o.c.ModelNames()
	x := Gather(o.w(n.TokenEmb+".weight"), InsertAxes(ids, -1))               // [b, s, m]
	at := AddScalar(positions(g, s), bartPosOffset)                           // [s]
	x = Add(x, InsertAxes(Gather(o.w(pos+".weight"), InsertAxes(at, -1)), 0)) // + [1, s, m]
	return o.Dropout(o.LayerNorm(x, ln))
}

// forwardBART runs the encoder over b.ids, then the decoder over b.decIDs.
func forwardBART(c Config, params map[string]*Node, lora map[string]float64, b batchNodes, rng *Node, fo fwdOptions) fwdOut {
	if b.decIDs == nil {
		exceptions.Panicf("an encoder-decoder needs decoder inputs")
	}
	g := b.ids.Graph()
	n := c.ModelNames()
	o := &graphOps{c: c, p: params, lora: lora, rng: rng, rate: fo.dropout, keep: fo.attentions}
	var out fwdOut
	if b.mask != nil {
		o.mask = attention.PaddingMask(b.mask) // [b, 1, 1, s]
	}
	x := o.embedBART(b.ids, n.PosEmb, n.EmbLN)
	if fo.hidden {
		out.hidden = append(out.hidden, x)
	}
	for l := range c.Layers {
		x = Block(c, BlockOps[*Node](o), x, l)
		if fo.hidden {
			out.hidden = append(out.hidden, x)
		}
	}
	out.encLast = x
	o.memory, o.memMask = x, o.mask
	t := b.decIDs.Shape().Dimensions[1]
	o.mask = attention.CausalMask(g, t, t, 0)
	if b.decMask != nil {
		o.mask = attention.CombineMasks(o.mask, attention.PaddingMask(b.decMask))
	}
	y := o.embedBART(b.decIDs, n.DecPosEmb, n.DecEmbLN)
	if fo.hidden {
		out.hidden = append(out.hidden, y)
	}
	for l := c.Layers; l < c.Blocks(); l++ {
		y = Block(c, BlockOps[*Node](o), y, l)
		if fo.hidden {
			out.hidden = append(out.hidden, y)
		}
	}
	out.last = y
	if !fo.noLogits {
		// Tied LM head plus final_logits_bias [1, v].
		logits := nn.Dense(y, o.w(n.TokenEmb+".weight"), nil, compute.DenseLayoutOutputsInput) // [b, t, v]
		out.logits = Add(logits, InsertAxes(o.w(n.LogitsBias), 0))
	}
	out.attentions, out.cross, out.rng = o.probs, o.cross, o.rng
	return out
}

// Seq2SeqBatch builds a Seq2SeqLM training batch from source and target token ids: the
// decoder reads [start] + target, and learns to predict target + [eos] (labels −100 on
// padding). Rows are right-padded with Config.PadID.
func (c Config) Seq2SeqBatch(src, tgt [][]int) (*TrainBatch, error) {
	if c.Arch != BART {
		return nil, fmt.Errorf("seq2seq batch: needs an encoder-decoder (bart), not %s", c.Arch)
	}
	if len(src) == 0 || len(src) != len(tgt) {
		return nil, fmt.Errorf("seq2seq batch: %d sources for %d targets", len(src), len(tgt))
	}
	tb := &TrainBatch{Batch: PadBatch(src, c.PadID)}
	dec := make([][]int, len(tgt))
	for i, t := range tgt {
		dec[i] = append([]int{c.DecoderStartID}, t...)
	}
	db := PadBatch(dec, c.PadID)
	tb.DecoderIDs, tb.DecoderMask = db.IDs, db.Mask
	for _, t := range tgt {
		row := make([]int, len(db.IDs[0]))
		for j := range row {
			row[j] = -100
		}
		copy(row, t)
		row[len(t)] = c.EosID
		tb.Labels = append(tb.Labels, row)
	}
	return tb, nil
}

// GenerateSeq2Seq writes the target for the source ids with an encoder-decoder, one token
// at a time from Config.DecoderStartID until EOS or o.MaxTokens (greedy, or sampled with
// o's temperature / top-k / top-p). Each step runs the model on the prefix (targets are
// short; the bucketed shapes keep the compiled graphs few).
func (m *Model) GenerateSeq2Seq(src []int, o GenerateOptions) (*GenerateResult, error) {
	c := m.Config
	if c.Arch != BART {
		return nil, fmt.Errorf("generate: %s is not an encoder-decoder", c.Arch)
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 32
	}
	if o.TopN == 0 {
		o.TopN = 5
	}
	if o.MaxTokens < 0 || o.MaxTokens >= c.MaxPos {
		return nil, fmt.Errorf("generate: max tokens %d must be in [0, %d)", o.MaxTokens, c.MaxPos)
	}
	if err := o.sampling().Validate(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if len(src) == 0 {
		return nil, fmt.Errorf("generate: empty source")
	}
	r := rand.New(rand.NewPCG(o.Seed, 7))
	res := &GenerateResult{PromptIDs: append([]int(nil), src...)}
	dec := []int{c.DecoderStartID}
	banned := m.bannedIDs()
	t0 := time.Now()
	for range o.MaxTokens {
		ts := time.Now()
		out, err := m.Forward(Batch{IDs: [][]int{src}, DecoderIDs: [][]int{dec}}, ForwardOptions{})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		logits := append([]float32(nil), out.Logits.Row(0, len(dec)-1)...)
		for _, id := range banned {
			if id != c.EosID {
				logits[id] = float32(math.Inf(-1))
			}
		}
		probs := sample.Distribution(logits, o.sampling())
		id := sample.Pick(probs, o.Temperature == 0, r)
		st := GenStep{ID: id, Prob: probs[id], Candidates: m.top(probs, o.TopN), Latency: time.Since(ts)}
		if m.Tokenizer != nil {
			st.Token = m.Tokenizer.IDToToken(id)
		}
		res.Steps = append(res.Steps, st)
		if id == c.EosID {
			break
		}
		res.IDs = append(res.IDs, id)
		dec = append(dec, id)
	}
	res.Decode = time.Since(t0)
	if m.Tokenizer != nil {
		res.Text = m.Tokenizer.Decode(res.IDs)
	}
	return res, nil
}
