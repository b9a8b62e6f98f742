package qa

import (
	"fmt"
	"math"
)

// Span is an answer candidate: token positions Start ≤ End (inclusive) and its score
// start[Start] + end[End] (a sum of logits; the product of the two softmaxes is a
// monotone function of it, so both pick the same span).
type Span struct {
	Start, End int
	Score      float64
}

// BestSpan returns the span lo ≤ s ≤ e < hi with e − s + 1 ≤ maxLen that maximises
// start[s] + end[e]. It tries every start and only the maxLen ends from it, so it
// costs O(n·maxLen) rather than the O(n²) of all pairs. Ties go to the smaller s, then the smaller e. Taking the two argmaxes
// separately is wrong: the best start can come after the best end, or too far
// before it.
func BestSpan(start, end []float64, lo, hi, maxLen int) (Span, error) {
	if len(start) != len(end) {
		return Span{}, fmt.Errorf("best span: %d start logits but %d end logits", len(start), len(end))
	}
	if lo < 0 || hi > len(start) || lo >= hi {
		return Span{}, fmt.Errorf("best span: the range [%d, %d) is not inside the %d logits", lo, hi, len(start))
	}
	if maxLen < 1 {
		return Span{}, fmt.Errorf("best span: the length limit %d must be ≥ 1", maxLen)
	}
	best := Span{Start: -1, Score: math.Inf(-1)}
	for s := lo; s < hi; s++ {
		for e := s; e < min(hi, s+maxLen); e++ {
			if v := start[s] + end[e]; v > best.Score || best.Start < 0 {
				best = Span{Start: s, End: e, Score: v}
			}
		}
	}
	if math.IsNaN(best.Score) {
		return Span{}, fmt.Errorf("best span: the logits hold NaN")
	}
	return best, nil
}

// SpanScores is the table BestSpan searches: scores[s][e] = start[lo+s] + end[lo+e]
// for the allowed spans of [lo, hi), NaN elsewhere (e < s or longer than maxLen). The
// notebook draws it as a heatmap: only the band on and above the diagonal is allowed.
func SpanScores(start, end []float64, lo, hi, maxLen int) [][]float64 {
	n := hi - lo
	out := make([][]float64, n)
	for s := range out {
		out[s] = make([]float64, n)
		for e := range out[s] {
			out[s][e] = math.NaN()
			if e >= s && e-s < maxLen {
				out[s][e] = start[lo+s] + end[lo+e]
			}
		}
	}
	return out
}
