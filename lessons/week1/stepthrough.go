package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/llm/attention"
)

// StorySentence is the study plan's example. In English "I went to the bank to fish" is a
// pun (bank: money or river); in Chinese it is not — 银行 only means the financial bank, a
// river bank is 河岸 — and the sentence is in the training corpus (train.txt). The lesson
// keeps it to trace attention between 钓鱼 and 银行, and tests context on genuinely
// ambiguous words with held-out sentences ([SenseTests]).
const StorySentence = "我昨天去银行钓鱼"

// LongSentence is the longer sentence the multi-head section draws (not in the corpus).
const LongSentence = "小王昨天去银行取钱，今天又去河边钓鱼，晚上回家做饭。"

// Walkthrough is one attention head computed step by step on a sentence.
type Walkthrough struct {
	Sentence string
	Tokens   []string              // one label per position
	Spans    [][2]int              // byte span of each token in Sentence ([-1,-1] for inserted specials)
	Source   string                // where X and the weights come from
	X        [][]float64           // [n, m] the head's input, one row per token
	W        attention.HeadWeights // Wq, Wk, Wv [m, d] and biases
	Mask     [][]bool              // nil: every token sees every token
	Steps    *attention.Steps      // Q, K, V, Scores, Scaled, Probs, Out
	Layer    int                   // -1 for the random walkthrough
	Head     int                   // -1 for the random walkthrough
	MaxDiff  float64               // model walkthroughs: max |Probs − the model's own attention|
}

// Rows returns the token labels (for heatmap rows and columns).
func (w *Walkthrough) Rows() []string { return w.Tokens }

// PositionalEncoding returns the sinusoidal position encoding of "Attention Is All You
// Need", [n][m]:
//
//	PE(pos, 2i) = sin(pos / 10000^(2i/m)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/m))
func PositionalEncoding(n, m int) [][]float64 {
	pe := make([][]float64, n)
	for pos := range pe {
		pe[pos] = make([]float64, m)
		for i := 0; i < m; i += 2 {
			angle := float64(pos) / math.Pow(10000, float64(i)/float64(m))
			pe[pos][i] = math.Sin(angle)
			if i+1 < m {
				pe[pos][i+1] = math.Cos(angle)
			}
		}
	}
	return pe
}

// StepThrough builds a tiny, fully deterministic attention head on sentence so every
// number can be read: one token per character; X = token embedding + sinusoidal
// position (d_model = 2·dHead), where a character's embedding is drawn from a generator
// seeded by the character and seed (the same character always gets the same vector);
// Wq, Wk, Wv [d_model, dHead] are drawn from N(0, 1/d_model). No mask: every token
// sees the whole sentence, as in an encoder.
func StepThrough(sentence string, dHead int, seed uint64) (*Walkthrough, error) {
	return stepThrough(chars(sentence), dHead, seed, true)
}

// chars splits s into one token per character.
func chars(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// stepThrough is StepThrough on given tokens, with or without the positional encoding.
func stepThrough(tokens []string, dHead int, seed uint64, withPE bool) (*Walkthrough, error) {
	if dHead < 1 || dHead > 64 {
		return nil, fmt.Errorf("step through: dHead %d, want 1..64", dHead)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("step through: empty sentence")
	}
	spans := make([][2]int, len(tokens))
	at := 0
	for i, t := range tokens {
		spans[i] = [2]int{at, at + len(t)}
		at += len(t)
	}
	m := 2 * dHead
	pe := PositionalEncoding(len(tokens), m)
	x := make([][]float64, len(tokens))
	for i, tok := range tokens {
		r := []rune(tok)[0]
		rng := rand.New(rand.NewPCG(seed, uint64(r)))
		x[i] = make([]float64, m)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
			if withPE {
				x[i][j] += pe[i][j]
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	w := attention.HeadWeights{
		Wq: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
		Wk: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
		Wv: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
	}
	st, err := attention.ReferenceHead(x, w, nil)
	if err != nil {
		return nil, err
	}
	source := fmt.Sprintf("随机权重 (random, seed %d)：X = 字的嵌入 + 正弦位置编码，d_model=%d，d_head=%d", seed, m, dHead)
	if !withPE {
		source = fmt.Sprintf("随机权重 (random, seed %d)：X = 字的嵌入，没有位置编码 (no positions)，d_model=%d，d_head=%d", seed, m, dHead)
	}
	return &Walkthrough{
		Sentence: strings.Join(tokens, ""), Tokens: tokens, Spans: spans, Source: source,
		X: x, W: w, Steps: st, Layer: -1, Head: -1,
	}, nil
}

// Positions returns the token positions whose byte spans overlap the first occurrence of
// sub in text (spans as [Walkthrough.Spans] and [AttentionMap.Spans] hold them).
func Positions(text, sub string, spans [][2]int) ([]int, error) {
	at := strings.Index(text, sub)
	if sub == "" || at < 0 {
		return nil, fmt.Errorf("%q does not occur in %q", sub, text)
	}
	var pos []int
	for i, s := range spans {
		if s[0] >= 0 && s[0] < at+len(sub) && s[1] > at {
			pos = append(pos, i)
		}
	}
	return pos, nil
}

// Focus is how much the tokens of From attend to the tokens of To, in one head.
type Focus struct {
	Layer, Head int
	From, To    string
	Weight      float64 // mean over From's tokens of the attention mass on To's tokens
}

// FocusWeight is the attention mass that queries `from` put on keys `to` in probs [q][k].
func FocusWeight(probs [][]float64, from, to []int) float64 {
	var s float64
	for _, q := range from {
		for _, k := range to {
			s += probs[q][k]
		}
	}
	return s / float64(len(from))
}

// SortFocus sorts heads by Weight, strongest first (stable: ties keep layer/head order).
func SortFocus(fs []Focus) {
	for i := 1; i < len(fs); i++ { // insertion sort: stable and tiny
		for j := i; j > 0 && fs[j].Weight > fs[j-1].Weight; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}
