package week1

import (
	"fmt"
	"sort"
)

// AttentionMap is every attention probability of a model on one sentence.
type AttentionMap struct {
	Sentence string
	Causal   bool            // a decoder's (GPT's) attention: query i sees keys 0..i only
	Tokens   []string        // token labels
	Spans    [][2]int        // byte spans in Sentence ([-1,-1] for inserted specials)
	Weights  [][][][]float64 // [layer][head][query][key]
}

// Layer returns one layer's [head][query][key] weights, the form viz.Attention takes.
func (a *AttentionMap) Layer(l int) [][][]float64 { return a.Weights[l] }

// The attention patterns HeadReport looks for.
const (
	PatternPrevious = "前一个 token (previous token)"
	PatternSelf     = "自己 (self)"
	PatternFirst    = "第一个 token / [CLS] (first token)"
	PatternSep      = "[SEP]"
	PatternFocus    = "关注词 (focus word)"
)

// HeadScore is how strongly one head follows one pattern.
type HeadScore struct {
	Pattern     string
	Layer, Head int
	Score       float64 // mean attention weight the queries put on the pattern's keys
	Uniform     float64 // the same score if the head spread its attention evenly (the baseline)
}

// Lift is Score / Uniform: how many times more than chance the head follows the pattern.
func (s HeadScore) Lift() float64 {
	if s.Uniform == 0 {
		return 0
	}
	return s.Score / s.Uniform
}

// HeadReportResult holds every head's score for every pattern and the strongest heads.
type HeadReportResult struct {
	Patterns []string
	Scores   map[string][][]float64 // pattern → [layer][head] score, for a heatmap
	Top      []HeadScore            // per pattern, the head with the highest score
}

// HeadReport measures, for every head of am, how much attention goes to
//
//   - the previous token (query i → key i−1, queries i ≥ 1);
//   - the token itself (i → i);
//   - the first token ([CLS] for BERT; GPT's first token, excluding queries 0 and 1 that
//     can hardly look elsewhere);
//   - [SEP] (BERT only: the last token);
//   - the focus word (every token of focus, e.g. 钓鱼, from every query outside it that is
//     allowed to see it); skipped when focus is "".
//
// Each score is the mean over queries of the attention on those keys; Uniform is what an
// even spread over the keys each query may see would give, so a head is remarkable when
// its score is several times its Uniform baseline. Nothing is hand-picked: Top lists the
// highest-scoring head of each pattern.
func HeadReport(am *AttentionMap, focus string) (*HeadReportResult, error) {
	if len(am.Weights) == 0 {
		return nil, fmt.Errorf("head report: no attention weights")
	}
	n := len(am.Tokens)
	causal := am.Causal
	visible := func(q int) int { // keys query q may see
		if causal {
			return q + 1
		}
		return n
	}
	type pattern struct {
		name    string
		queries []int
		keys    func(q int) []int
	}
	var ps []pattern
	var qs []int
	for q := 1; q < n; q++ {
		qs = append(qs, q)
	}
	ps = append(ps, pattern{PatternPrevious, qs, func(q int) []int { return []int{q - 1} }})
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	ps = append(ps, pattern{PatternSelf, all, func(q int) []int { return []int{q} }})
	first := all
	if causal {
		first = nil
		for q := 2; q < n; q++ {
			first = append(first, q)
		}
	} else {
		first = all[1:]
	}
	ps = append(ps, pattern{PatternFirst, first, func(int) []int { return []int{0} }})
	if !causal && n > 2 && am.Tokens[n-1] == "[SEP]" {
		ps = append(ps, pattern{PatternSep, all[:n-1], func(int) []int { return []int{n - 1} }})
	}
	if focus != "" {
		fp, err := Positions(am.Sentence, focus, am.Spans)
		if err != nil {
			return nil, fmt.Errorf("head report: %w", err)
		}
		in := map[int]bool{}
		for _, p := range fp {
			in[p] = true
		}
		var fq []int
		for q := range n {
			if !in[q] && (!causal || q > fp[0]) {
				fq = append(fq, q)
			}
		}
		if len(fq) > 0 {
			ps = append(ps, pattern{PatternFocus + " " + focus, fq, func(q int) []int {
				var ks []int
				for _, k := range fp {
					if k < visible(q) {
						ks = append(ks, k)
					}
				}
				return ks
			}})
		}
	}
	res := &HeadReportResult{Scores: map[string][][]float64{}}
	for _, p := range ps {
		if len(p.queries) == 0 {
			continue
		}
		res.Patterns = append(res.Patterns, p.name)
		uniform := 0.0
		for _, q := range p.queries {
			uniform += float64(len(p.keys(q))) / float64(visible(q))
		}
		uniform /= float64(len(p.queries))
		var best HeadScore
		grid := make([][]float64, len(am.Weights))
		for l, layer := range am.Weights {
			grid[l] = make([]float64, len(layer))
			for h, probs := range layer {
				s := 0.0
				for _, q := range p.queries {
					for _, k := range p.keys(q) {
						s += probs[q][k]
					}
				}
				s /= float64(len(p.queries))
				grid[l][h] = s
				if s > best.Score || best.Pattern == "" {
					best = HeadScore{Pattern: p.name, Layer: l, Head: h, Score: s, Uniform: uniform}
				}
			}
		}
		res.Scores[p.name] = grid
		res.Top = append(res.Top, best)
	}
	sort.SliceStable(res.Top, func(i, j int) bool { return res.Top[i].Lift() > res.Top[j].Lift() })
	return res, nil
}

// Table formats the strongest head of each pattern as table rows.
func (r *HeadReportResult) Table() (headers []string, rows [][]string) {
	for _, s := range r.Top {
		rows = append(rows, []string{s.Pattern, fmt.Sprintf("第 %d 层第 %d 个头 (layer %d, head %d)", s.Layer, s.Head, s.Layer, s.Head),
			fmt.Sprintf("%.2f", s.Score), fmt.Sprintf("%.2f", s.Uniform), fmt.Sprintf("%.1f×", s.Lift())})
	}
	return []string{"模式 (pattern)", "最强的头 (strongest head)", "平均权重 (score)", "均匀基线 (uniform)", "倍数 (lift)"}, rows
}

// HeadLabels names the layers and heads of a score grid, for a heatmap.
func HeadLabels(grid [][]float64) (rows, cols []string) {
	for l := range grid {
		rows = append(rows, fmt.Sprintf("layer %d", l))
	}
	if len(grid) > 0 {
		for h := range grid[0] {
			cols = append(cols, fmt.Sprintf("head %d", h))
		}
	}
	return rows, cols
}
