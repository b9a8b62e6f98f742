package tokenizer

import (
	"container/heap"
	"fmt"
	"sort"
)

// BPEOptions tunes [TrainBPE]. The zero value trains with the CJK-aware pre-tokenizer,
// <|endoftext|> as the only special token, and merges pairs seen at least once.
type BPEOptions struct {
	// PreTokenizer is [PreGPT2CJK] (default) or [PreGPT2].
	PreTokenizer string
	// Specials are added after the merges, in this order (default: <|endoftext|>).
	// They are never split and their occurrences in the corpus are not learned from.
	Specials []string
	// MinFrequency stops training when the most frequent pair is rarer (0 means 1).
	MinFrequency int
}

// TrainBPE learns a byte-level BPE from corpus, GPT-2 style.
//
// Ids 0..255 are the bytes themselves (id b is byte b), ids from 256 are the merges in the
// order they were learned, and the specials come last: vocabSize counts all three, so
// the vocabulary holds at most vocabSize-len(specials) byte-level tokens (fewer if the
// corpus runs out of pairs). Merges() lists every rule learned.
//
// Algorithm: the corpus is cut into pieces by the pre-tokenizer and identical pieces are
// counted once with their frequency. Each step counts every adjacent pair of tokens
// (weighted by piece frequency; "aaa" holds the pair (a,a) twice), merges the most
// frequent pair everywhere (left to right, without overlap) into a new token, and
// repeats. Ties go to the smallest pair (left id, then right id), as in Hugging Face's
// trainer. Pair counts are updated incrementally: only the pieces containing the merged
// pair are re-counted, and a heap keeps the most frequent pair on top.
func TrainBPE(corpus string, vocabSize int, opts BPEOptions) (*BPE, error) {
	pre := opts.PreTokenizer
	if pre == "" {
		pre = PreGPT2CJK
	}
	if pre != PreGPT2 && pre != PreGPT2CJK {
		return nil, fmt.Errorf("tokenizer: TrainBPE: unknown pre-tokenizer %q", pre)
	}
	specials := opts.Specials
	if specials == nil {
		specials = []string{GPT2EndOfText}
	}
	numMerges := vocabSize - 256 - len(specials)
	if numMerges < 0 {
		return nil, fmt.Errorf("tokenizer: TrainBPE: vocabSize %d < 256 bytes + %d specials", vocabSize, len(specials))
	}
	seen := map[string]bool{}
	for _, s := range specials {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("tokenizer: TrainBPE: empty or repeated special token %q", s)
		}
		seen[s] = true
	}
	minFreq := max(1, opts.MinFrequency)

	// Count pieces.
	pieceCount := map[string]int{}
	sset := newSpecialSet(indexOf(specials), specials)
	sset.split(corpus, func(start, end, id int) {
		if id >= 0 {
			return
		}
		for _, p := range preTokenize(corpus[start:end], pre == PreGPT2CJK) {
			pieceCount[corpus[start+p[0]:start+p[1]]]++
		}
	})
	pieces := make([]string, 0, len(pieceCount))
	for p := range pieceCount {
		if len(p) >= 2 {
			pieces = append(pieces, p)
		}
	}
	sort.Strings(pieces)
	words := make([][]int, len(pieces))
	freq := make([]int, len(pieces))
	for i, p := range pieces {
		words[i] = make([]int, len(p))
		for j := 0; j < len(p); j++ {
			words[i][j] = int(p[j])
		}
		freq[i] = pieceCount[p]
	}

	// Initial pair counts and the index pair → pieces holding it.
	counts := map[[2]int]int{}
	where := map[[2]int][]int32{}
	for w, seq := range words {
		for j := 0; j+1 < len(seq); j++ {
			p := [2]int{seq[j], seq[j+1]}
			counts[p] += freq[w]
			if l := where[p]; len(l) == 0 || l[len(l)-1] != int32(w) {
				where[p] = append(l, int32(w))
			}
		}
	}
	h := &pairHeap{}
	for p, c := range counts {
		h.items = append(h.items, pairCount{p, c})
	}
	heap.Init(h)

	raw := make([]string, 256, vocabSize)
	for b := range raw {
		raw[b] = string([]byte{byte(b)})
	}
	type learned struct {
		pair  [2]int
		count int
	}
	var learnedMerges []learned
	delta := map[[2]int]int{}
	lastVisit := make([]int, len(words))
	for i := range lastVisit {
		lastVisit[i] = -1
	}
	rawIndex := make(map[string]int, vocabSize)
	for b, r := range raw {
		rawIndex[r] = b
	}
	for len(raw) < 256+numMerges && h.Len() > 0 {
		top := heap.Pop(h).(pairCount)
		if counts[top.pair] != top.count || top.count == 0 {
			continue // stale heap entry
		}
		if top.count < minFreq {
			break
		}
		// A merged string can be reached by two merges ("ab"+"c", "a"+"bc"): reuse its id.
		p := top.pair
		merged := raw[p[0]] + raw[p[1]]
		newID, exists := rawIndex[merged]
		if !exists {
			newID = len(raw)
			raw = append(raw, merged)
			rawIndex[merged] = newID
		}
		learnedMerges = append(learnedMerges, learned{p, top.count})
		step := len(learnedMerges)
		for _, w32 := range where[p] {
			w := int(w32)
			if lastVisit[w] == step {
				continue
			}
			lastVisit[w] = step
			seq, f := words[w], freq[w]
			if !containsPair(seq, p) {
				continue // stale index entry
			}
			for j := 0; j+1 < len(seq); j++ {
				delta[[2]int{seq[j], seq[j+1]}] -= f
			}
			out := seq[:0]
			for j := 0; j < len(seq); j++ {
				if j+1 < len(seq) && seq[j] == p[0] && seq[j+1] == p[1] {
					out = append(out, newID)
					j++
				} else {
					out = append(out, seq[j])
				}
			}
			words[w] = out
			for j := 0; j+1 < len(out); j++ {
				q := [2]int{out[j], out[j+1]}
				delta[q] += f
				if out[j] == newID || out[j+1] == newID {
					if l := where[q]; len(l) == 0 || l[len(l)-1] != int32(w) {
						where[q] = append(l, int32(w))
					}
				}
			}
		}
		delete(where, p)
		for q, d := range delta {
			if d != 0 {
				c := counts[q] + d
				if c <= 0 {
					delete(counts, q)
				} else {
					counts[q] = c
					heap.Push(h, pairCount{q, c})
				}
			}
			delete(delta, q)
		}
	}

	tokens := make([]string, 0, 256+len(learnedMerges)+len(specials))
	for _, r := range raw {
		tokens = append(tokens, ByteLevel(r))
	}
	for _, s := range specials {
		if r, ok := FromByteLevel(s); ok {
			if _, clash := rawIndex[r]; clash {
				return nil, fmt.Errorf("tokenizer: TrainBPE: special token %q is also a learned byte-level token", s)
			}
		}
		tokens = append(tokens, s)
	}
	merges := make([][2]string, len(learnedMerges))
	for i, m := range learnedMerges {
		merges[i] = [2]string{tokens[m.pair[0]], tokens[m.pair[1]]}
	}
	t, err := newBPE(tokens, merges, specials, nil, pre)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: TrainBPE: %w", err)
	}
	for i, m := range learnedMerges {
		t.merges[i].Count = m.count
	}
	return t, nil
}

func containsPair(seq []int, p [2]int) bool {
	for j := 0; j+1 < len(seq); j++ {
		if seq[j] == p[0] && seq[j+1] == p[1] {
			return true
		}
	}
	return false
}

type pairCount struct {
	pair  [2]int
	count int
}

// pairHeap is a max-heap on count, ties to the smallest pair.
type pairHeap struct{ items []pairCount }

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.count != b.count {
		return a.count > b.count
	}
	if a.pair[0] != b.pair[0] {
		return a.pair[0] < b.pair[0]
	}
	return a.pair[1] < b.pair[1]
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
