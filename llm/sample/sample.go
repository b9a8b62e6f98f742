package sample

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Float is the element type the functions accept.
type Float interface{ ~float32 | ~float64 }

// Softmax writes softmax(x) into dst (len(dst) == len(x); dst may alias x when both have
// the same type) and returns dst. The arithmetic is done in float64. −Inf scores get
// exactly 0; an all −Inf (or empty-mass) row gets the uniform distribution.
func Softmax[D, S Float](dst []D, x []S) []D {
	if len(x) == 0 {
		return dst[:0]
	}
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	if math.IsInf(m, -1) || math.IsNaN(m) {
		for i := range x {
			dst[i] = D(1 / float64(len(x)))
		}
		return dst
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v) - m)
		dst[i] = D(e)
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		dst[i] = D(float64(dst[i]) * inv)
	}
	return dst
}

// Probs returns softmax(x) as a new float64 slice.
func Probs[S Float](x []S) []float64 { return Softmax(make([]float64, len(x)), x) }

// LogSumExp returns log Σ exp(xᵢ), computed stably (−Inf for an empty or all −Inf row).
func LogSumExp[S Float](x []S) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	if math.IsInf(m, 0) {
		return m
	}
	var z float64
	for _, v := range x {
		z += math.Exp(float64(v) - m)
	}
	return m + math.Log(z)
}

// NLL is the negative log-likelihood −log softmax(x)[target]: the cross-entropy loss of
// one prediction.
func NLL[S Float](x []S, target int) float64 { return LogSumExp(x) - float64(x[target]) }

// TopK returns the indices of the k largest values of x, largest first; ties keep the lower
// index first. k is clamped to [0, len(x)]. It costs O(n log k), so asking for 5 of 50,000
// does not sort the vocabulary.
func TopK[S Float](x []S, k int) []int {
	k = min(max(k, 0), len(x))
	if k == 0 {
		return []int{}
	}
	h := &minHeap[S]{x: x}
	for i := range x {
		if h.Len() < k {
			heap.Push(h, i)
		} else if h.better(i, h.idx[0]) {
			h.idx[0] = i
			heap.Fix(h, 0)
		}
	}
	out := h.idx
	sort.Slice(out, func(a, b int) bool { return h.better(out[a], out[b]) })
	return out
}

// minHeap keeps the k best indices with the worst on top.
type minHeap[S Float] struct {
	x   []S
	idx []int
}

// better reports whether index i ranks before j: larger value, then lower index. NaN ranks last.
func (h *minHeap[S]) better(i, j int) bool {
	a, b := float64(h.x[i]), float64(h.x[j])
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	case a != b:
		return a > b
	}
	return i < j
}
func (h *minHeap[S]) Len() int           { return len(h.idx) }
func (h *minHeap[S]) Less(a, b int) bool { return h.better(h.idx[b], h.idx[a]) }
func (h *minHeap[S]) Swap(a, b int)      { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *minHeap[S]) Push(v any)         { h.idx = append(h.idx, v.(int)) }
func (h *minHeap[S]) Pop() any {
	v := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return v
}

// Argmax returns the index of the largest value (the first one on ties), or −1 for an
// empty slice.
func Argmax[S Float](x []S) int {
	best := -1
	for i, v := range x {
		if best < 0 || float64(v) > float64(x[best]) {
			best = i
		}
	}
	return best
}

// Options selects how the next token is drawn. The zero value is greedy decoding.
type Options struct {
	Temperature float64 // 0 = greedy (argmax); otherwise logits are divided by it
	TopK        int     // keep only the K most likely tokens (0 = all)
	TopP        float64 // nucleus: keep the smallest set with mass ≥ TopP (0 or ≥ 1 = all)
}

// Validate reports options no sampler can use: negative or non-finite values, top-p
// outside [0, 1].
func (o Options) Validate() error {
	switch {
	case math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0) || o.Temperature < 0:
		return fmt.Errorf("temperature %g must be a finite number ≥ 0", o.Temperature)
	case math.IsNaN(o.TopP) || o.TopP < 0 || o.TopP > 1:
		return fmt.Errorf("top-p %g must be in [0, 1]", o.TopP)
	case o.TopK < 0:
		return fmt.Errorf("top-k %d must be ≥ 0", o.TopK)
	}
	return nil
}

// Greedy reports whether the options pick the argmax.
func (o Options) Greedy() bool { return o.Temperature == 0 }

// Distribution returns the probabilities the next token is drawn from: softmax(logits/T)
// restricted to top-k and top-p and renormalised. With Temperature 0 it is the plain
// softmax (T = 1) and no truncation: greedy decoding picks its argmax.
func Distribution[S Float](logits []S, o Options) []float64 {
	t := o.Temperature
	if t == 0 {
		t = 1
	}
	p := make([]float64, len(logits))
	for i, l := range logits {
		p[i] = float64(l) / t
	}
	Softmax(p, p)
	if o.Greedy() || (o.TopK == 0 && (o.TopP == 0 || o.TopP >= 1)) {
		return p
	}
	keep := len(p)
	if o.TopK > 0 {
		keep = min(keep, o.TopK)
	}
	order := TopK(p, keep)
	if o.TopP > 0 && o.TopP < 1 {
		var mass float64
		for i, id := range order {
			mass += p[id]
			if mass >= o.TopP {
				order = order[:i+1]
				break
			}
		}
	}
	out := make([]float64, len(p))
	var sum float64
	for _, id := range order {
		out[id] = p[id]
		sum += p[id]
	}
	for _, id := range order {
		out[id] /= sum
	}
	return out
}

// Pick draws an index from the distribution p (greedy: its argmax) using r.
func Pick(p []float64, greedy bool, r *rand.Rand) int {
	if greedy {
		return Argmax(p)
	}
	u := r.Float64()
	var c float64
	last := -1
	for i, x := range p {
		if x == 0 {
			continue
		}
		c += x
		last = i
		if u < c {
			return i
		}
	}
	if last < 0 {
		return Argmax(p)
	}
	return last
}
