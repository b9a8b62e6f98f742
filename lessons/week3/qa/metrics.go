package qa

import (
	"strings"
	"unicode"
)

// Normalize is the text the metrics compare: lower-cased, without whitespace and
// punctuation (full-width "，。？" as well as ASCII), as the CMRC 2018 and SQuAD scripts
// normalise answers before scoring.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ExactMatch reports whether pred and gold are equal after [Normalize].
func ExactMatch(pred, gold string) bool { return Normalize(pred) == Normalize(gold) }

// F1 is the character-level F1 of pred against gold (after [Normalize]): with c the
// number of characters they share (counted as multisets),
//
//	precision = c/|pred|,  recall = c/|gold|,  F1 = 2·precision·recall/(precision+recall)
//
// Chinese has no spaces to split words at, so characters are the units (as in CMRC 2018).
// Two empty strings score 1, one empty string 0.
func F1(pred, gold string) float64 {
	p, g := []rune(Normalize(pred)), []rune(Normalize(gold))
	if len(p) == 0 || len(g) == 0 {
		if len(p) == len(g) {
			return 1
		}
		return 0
	}
	count := map[rune]int{}
	for _, r := range g {
		count[r]++
	}
	common := 0
	for _, r := range p {
		if count[r] > 0 {
			count[r]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	precision := float64(common) / float64(len(p))
	recall := float64(common) / float64(len(g))
	return 2 * precision * recall / (precision + recall)
}

// Score is the best exact match (0 or 1) and F1 of pred over the gold answers.
func Score(pred string, golds []string) (em, f1 float64) {
	for _, g := range golds {
		if ExactMatch(pred, g) {
			em = 1
		}
		f1 = max(f1, F1(pred, g))
	}
	return em, f1
}
