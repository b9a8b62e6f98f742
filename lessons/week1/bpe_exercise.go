package week1

import (
	"fmt"
	"slices"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

// BPEMergeStep is one step of BPE training on a corpus of words, each a sequence of
// symbols: count every pair of adjacent symbols inside a word (a word that occurs twice
// counts twice), take the most frequent pair — on a tie, the pair seen first reading the
// corpus left to right — and replace each of its occurrences, left to right without
// overlap, by one merged symbol. It returns the pair and the new corpus (the input is not
// modified). ok is false when no word has two symbols.
func BPEMergeStep(corpus [][]string) (pair [2]string, merged [][]string, ok bool) {
	counts := map[[2]string]int{}
	var order [][2]string
	for _, w := range corpus {
		for i := 0; i+1 < len(w); i++ {
			p := [2]string{w[i], w[i+1]}
			if counts[p] == 0 {
				order = append(order, p)
			}
			counts[p]++
		}
	}
	if len(order) == 0 {
		return pair, nil, false
	}
	pair = order[0]
	for _, p := range order[1:] {
		if counts[p] > counts[pair] {
			pair = p
		}
	}
	for _, w := range corpus {
		var nw []string
		for i := 0; i < len(w); i++ {
			if i+1 < len(w) && w[i] == pair[0] && w[i+1] == pair[1] {
				nw = append(nw, pair[0]+pair[1])
				i++
				continue
			}
			nw = append(nw, w[i])
		}
		merged = append(merged, nw)
	}
	return pair, merged, true
}

// SplitWords turns a text into a BPE corpus: one word per whitespace-separated field, each
// character a symbol.
func SplitWords(text string) [][]string {
	var out [][]string
	for _, w := range strings.Fields(text) {
		out = append(out, chars(w))
	}
	return out
}

// bpeVariant computes common wrong merge steps, to name a learner's mistake.
func bpeVariant(corpus [][]string, kind string) ([2]string, [][]string) {
	switch kind {
	case "across-words": // the corpus read as one stream, pairs across word boundaries counted
		var flat []string
		for _, w := range corpus {
			flat = append(flat, w...)
		}
		p, _, _ := BPEMergeStep([][]string{flat})
		return p, mergeAll(corpus, p, false)
	case "overlap": // every occurrence replaced, even overlapping ones (a a a → aa aa)
		p, _, _ := BPEMergeStep(corpus)
		return p, mergeAll(corpus, p, true)
	}
	return [2]string{}, nil
}

// mergeAll replaces pair in every word; overlapping turns each matching position into
// the merged symbol, the wrong way to handle "a a a".
func mergeAll(corpus [][]string, pair [2]string, overlapping bool) [][]string {
	var out [][]string
	for _, w := range corpus {
		var nw []string
		for i := 0; i < len(w); i++ {
			if i+1 < len(w) && w[i] == pair[0] && w[i+1] == pair[1] {
				nw = append(nw, pair[0]+pair[1])
				if !overlapping {
					i++
				}
				continue
			}
			nw = append(nw, w[i])
		}
		out = append(out, nw)
	}
	return out
}

func fmtCorpus(c [][]string) string {
	var ws []string
	for _, w := range c {
		ws = append(ws, strings.Join(w, " "))
	}
	if len(ws) > 6 {
		ws = append(ws[:6], fmt.Sprintf("… (%d words)", len(c)))
	}
	return "[" + strings.Join(ws, " | ") + "]"
}

// CheckBPEMerge checks a learner's single BPE merge step against [BPEMergeStep] on small
// corpora: Sennrich's low/lower/newest/widest, Chinese words, a tie, a pair that overlaps
// itself (a a a), and pairs that only exist across a word boundary. It names the usual
// mistakes: counting pairs across words, and merging overlapping occurrences.
func CheckBPEMerge(f func(corpus [][]string) (pair [2]string, merged [][]string)) exercise.Result {
	cases := []struct {
		name   string
		corpus [][]string
	}{
		{"Sennrich 的例子 (low lower newest widest)", SplitWords("low low low low low lower lower newest newest newest newest newest newest widest widest widest")},
		{"中文词 (Chinese words)", SplitWords("超市 超市 超市买 银行 银行卡 银行 超市")},
		{"平局：先出现的优先 (tie: first seen wins)", SplitWords("ab cd ab cd")},
		{"自己重叠 (overlapping pair) a a a", SplitWords("aaa aaa b")},
		{"跨词不算 (no pairs across words)", SplitWords("xa bx xa by ab")},
	}
	var out []exercise.Case
	var mistakes []string
	for _, c := range cases {
		wantPair, want, _ := BPEMergeStep(c.corpus)
		in := cloneCorpus(c.corpus)
		var pair [2]string
		var got [][]string
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { pair, got = f(in) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got == nil && pair == [2]string{} {
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了空结果 (returned nothing)"
		} else if pair != wantPair || !equalCorpus(got, want) {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("合并 (pair) %q, 期望 (want) %q\n输入 input %s\nwant 期望 %s\ngot  得到 %s", pair[0]+" + "+pair[1], wantPair[0]+" + "+wantPair[1], fmtCorpus(c.corpus), fmtCorpus(want), fmtCorpus(got))
			for _, kind := range []string{"across-words", "overlap"} {
				if p, v := bpeVariant(c.corpus, kind); p == pair && equalCorpus(v, got) {
					mistakes = append(mistakes, kind)
					break
				}
			}
		} else if !equalCorpus(in, c.corpus) {
			cr.Passed, cr.Detail = false, "输入被修改了 (the input corpus was modified)：请返回新的切片"
		}
		out = append(out, cr)
	}
	hint := "数每个词内部相邻两个符号的组合 (pairs inside each word)，取次数最多的（平局取最先出现的），再在每个词里从左到右、不重叠地把它换成合并后的符号。"
	if len(mistakes) > 0 {
		hint = map[string]string{
			"across-words": "只数词内部的相邻对 (pairs inside a word)：词与词之间没有相邻关系，跨词的组合不能算。",
			"overlap":      "从左到右替换、不要重叠 (non-overlapping, left to right)：a a a 合并 (a, a) 得到 aa a，不是 aa aa。",
		}[mistakes[0]]
	}
	return exercise.Grade("BPE merge step", out, hint,
		"数所有词内部相邻符号对的次数，返回最多的一对 (平局取最先出现的) 和合并后的新语料。")
}

func cloneCorpus(c [][]string) [][]string {
	out := make([][]string, len(c))
	for i, w := range c {
		out[i] = slices.Clone(w)
	}
	return out
}

func equalCorpus(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}
