package tokenizer

import (
	"sort"
	"strings"
)

// specialSet finds special tokens (e.g. "[MASK]", "<|endoftext|>") written in the text,
// so that they become one token instead of being split into pieces. Longer tokens win.
type specialSet struct {
	toks  []string // longest first
	ids   []int
	first [256]bool
}

func newSpecialSet(vocab map[string]int, names []string) *specialSet {
	s := &specialSet{}
	seen := map[string]bool{}
	for _, n := range names {
		id, ok := vocab[n]
		if n == "" || !ok || seen[n] {
			continue
		}
		seen[n] = true
		s.toks = append(s.toks, n)
		s.ids = append(s.ids, id)
	}
	idx := make([]int, len(s.toks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(s.toks[idx[a]]) > len(s.toks[idx[b]]) })
	toks, ids := make([]string, len(idx)), make([]int, len(idx))
	for i, j := range idx {
		toks[i], ids[i] = s.toks[j], s.ids[j]
		s.first[toks[i][0]] = true
	}
	s.toks, s.ids = toks, ids
	return s
}

// names returns the special token strings, longest first.
func (s *specialSet) names() []string { return s.toks }

// contains reports whether tok is one of the special tokens.
func (s *specialSet) contains(tok string) bool {
	for _, t := range s.toks {
		if t == tok {
			return true
		}
	}
	return false
}

// split calls fn for each piece of text: ordinary text with id = -1, special tokens
// with their id. Pieces are given as byte spans [start, end) of text, in order.
func (s *specialSet) split(text string, fn func(start, end, id int)) {
	last := 0
	for i := 0; i < len(text); i++ {
		if !s.first[text[i]] {
			continue
		}
		for k, t := range s.toks {
			if strings.HasPrefix(text[i:], t) {
				if i > last {
					fn(last, i, -1)
				}
				fn(i, i+len(t), s.ids[k])
				last = i + len(t)
				i = last - 1
				break
			}
		}
	}
	if last < len(text) {
		fn(last, len(text), -1)
	}
}
