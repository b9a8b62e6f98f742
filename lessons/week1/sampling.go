package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/viz"
)

// NextToken is a model's distribution over the next token after a prompt: the logits of
// the last position, one per vocabulary entry.
type NextToken struct {
	Prompt string
	Tokens []string  // vocabulary, by id
	Logits []float64 // [vocab]
}

// Sampling is one decoding rule for picking the next token. The zero value is plain
// sampling from softmax(logits) (temperature 1, no cut-off).
type Sampling struct {
	Name        string
	Greedy      bool    // always the most likely token (argmax)
	Temperature float64 // logits / T before softmax; 0 means 1
	TopK        int     // keep the K most likely tokens (0: all)
	TopP        float64 // keep the fewest most likely tokens whose mass reaches P (0 or 1: all)
}

// Probs returns the distribution the rule samples from, over the whole vocabulary: in
// order, softmax(logits / T); keep the top-k; keep the smallest top set with mass ≥ p;
// renormalise (llm/sample's Distribution, the one llm's generator draws from). Greedy puts
// all the mass on the argmax.
func (s Sampling) Probs(logits []float64) []float64 {
	if len(logits) == 0 {
		return []float64{}
	}
	if s.Greedy {
		p := make([]float64, len(logits))
		p[sample.Argmax(logits)] = 1
		return p
	}
	t := s.Temperature
	if t <= 0 {
		t = 1
	}
	return sample.Distribution(logits, sample.Options{Temperature: t, TopK: s.TopK, TopP: s.TopP})
}

// Sample draws k tokens (with replacement) from the rule's distribution with a seeded
// generator.
func (s Sampling) Sample(logits []float64, k int, seed uint64) []int {
	p := s.Probs(logits)
	r := rand.New(rand.NewPCG(seed, 0x5a))
	out := make([]int, k)
	for i := range out {
		u, c := r.Float64(), 0.0
		out[i] = -1
		for id, x := range p {
			if x == 0 {
				continue
			}
			c += x
			out[i] = id
			if u < c {
				break
			}
		}
	}
	return out
}

// DefaultSamplings are the rules the lesson compares.
func DefaultSamplings() []Sampling {
	return []Sampling{
		{Name: "贪心 (greedy)", Greedy: true},
		{Name: "温度 (temperature) 0.5", Temperature: 0.5},
		{Name: "温度 (temperature) 1", Temperature: 1},
		{Name: "温度 (temperature) 2", Temperature: 2},
		{Name: "top-k 5", TopK: 5},
		{Name: "top-p 0.9", TopP: 0.9},
	}
}

// entropy is −Σ p log p in nats.
func entropy(p []float64) float64 {
	h := 0.0
	for _, x := range p {
		if x > 0 {
			h -= x * math.Log(x)
		}
	}
	return h
}

// SamplingTable compares rules on one next-token distribution: how many tokens each can
// pick, the probability of the most likely token, the entropy (how spread out), and what
// 20 seeded draws give.
func SamplingTable(nt *NextToken, rules []Sampling) (headers []string, rows [][]string) {
	for _, s := range rules {
		p := s.Probs(nt.Logits)
		support, top := 0, 0.0
		for _, x := range p {
			if x > 0 {
				support++
			}
			top = math.Max(top, x)
		}
		counts := map[string]int{}
		var order []string
		for _, id := range s.Sample(nt.Logits, 20, 1) {
			tok := nt.Tokens[id]
			if counts[tok] == 0 {
				order = append(order, tok)
			}
			counts[tok]++
		}
		var draws []string
		for _, tok := range order {
			draws = append(draws, fmt.Sprintf("%s×%d", visibleToken(tok), counts[tok]))
		}
		rows = append(rows, []string{s.Name, fmt.Sprint(support), fmt.Sprintf("%.1f%%", 100*top), fmt.Sprintf("%.2f", entropy(p)), strings.Join(draws, " ")})
	}
	return []string{"规则 (rule)", "可选 token 数 (support)", "最可能的 token 概率 (max p)", "熵 (entropy, nats)", "抽 20 次 (20 draws, seed 1)"}, rows
}

// visibleToken shows whitespace and control tokens.
func visibleToken(t string) string {
	switch t {
	case "\n":
		return "↵"
	case " ":
		return "␣"
	case "":
		return "∅"
	}
	return t
}

// SamplingView draws, for the n most likely tokens of the plain distribution, the
// probability each rule gives them: greedy keeps one, a low temperature sharpens, a high
// one flattens, top-k and top-p cut the tail.
func SamplingView(nt *NextToken, rules []Sampling, n int) *viz.Chart {
	base := Sampling{}.Probs(nt.Logits)
	order := make([]int, len(base))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return base[order[a]] > base[order[b]] })
	order = order[:min(n, len(order))]
	labels := make([]string, len(order))
	for i, id := range order {
		labels[i] = visibleToken(nt.Tokens[id])
	}
	var series []viz.Series
	for _, s := range rules {
		p := s.Probs(nt.Logits)
		v := make([]float64, len(order))
		for i, id := range order {
			v[i] = p[id]
		}
		series = append(series, viz.Series{Name: s.Name, Values: v})
	}
	return viz.Bars(labels, series...).Title(fmt.Sprintf("“%s”之后的下一个 token：各规则给前 %d 个候选的概率 (next-token probability by rule)", nt.Prompt, len(order)))
}
