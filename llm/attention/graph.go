package attention

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// ScaledDotProduct computes softmax(Q·Kᵀ/√d)·V and returns the output and the probabilities.
//
//	q: [b, h, q, d]   k, v: [b, h, k, d]
//	mask: nil, or a boolean node broadcastable to [b, h, q, k]; true means "may attend".
//	out: [b, h, q, d]   probs: [b, h, q, k]
//
// Masked scores are replaced by the lowest float value before the softmax (what Hugging
// Face's BERT and GPT-2 do), so masked keys get a probability of exactly 0 unless every key
// of a row is masked.
func ScaledDotProduct(q, k, v, mask *graph.Node) (out, probs *graph.Node) {
	d := q.Shape().Dimensions[q.Rank()-1]
	scores := graph.Einsum("bhqd,bhkd->bhqk", q, k)           // [b, h, q, k]
	scores = graph.MulScalar(scores, 1/math.Sqrt(float64(d))) // scale by 1/√d
	if mask != nil {
		low := graph.Scalar(q.Graph(), scores.DType(), lowest(scores.DType()))
		if mask.Rank() == scores.Rank() {
			// Add a bias built on the mask's own shape (e.g. [1, 1, q, k]): 0 where
			// allowed, the lowest value where masked. lowest + score rounds back to lowest
			// for any |score| < 1e31, so this equals the Where below, without broadcasting
			// the mask and the constant to [b, h, q, k] (and their gradient) every layer.
			dims := mask.Shape().Dimensions
			bias := graph.Where(mask, graph.BroadcastToDims(graph.ScalarZero(q.Graph(), scores.DType()), dims...),
				graph.BroadcastToDims(low, dims...))
			scores = graph.Add(scores, bias)
		} else {
			mask = graph.BroadcastToDims(mask, scores.Shape().Dimensions...)
			scores = graph.Where(mask, scores, graph.BroadcastToDims(low, scores.Shape().Dimensions...))
		}
	}
	probs = softmaxLastAxis(scores)                 // [b, h, q, k]
	out = graph.Einsum("bhqk,bhkd->bhqd", probs, v) // [b, h, q, d]
	return out, probs
}

// softmaxLastAxis is graph.Softmax over the last axis with the gradient written out:
// ∂L/∂x = p ⊙ (g − Σ_k g ⊙ p), from the fused op's output p. Differentiating the decomposed
// softmax instead recomputed its max, exponentials and sums (about 12 ops on [b, h, q, k]
// per layer, against 4).
func softmaxLastAxis(x *graph.Node) *graph.Node {
	axis := x.Rank() - 1
	var p *graph.Node
	out, fused := graph.InternalFusedOpCaller(
		func() *graph.Node { return graph.BackendFusedSoftmax(x, axis) },
		func() *graph.Node {
			return graph.IdentityWithCustomGradient(x, func(_, g *graph.Node) *graph.Node {
				return graph.Mul(p, graph.Sub(g, graph.ReduceAndKeep(graph.Mul(g, p), graph.ReduceSum, -1)))
			})
		},
		true)
	if !fused {
		return graph.Softmax(x, -1)
	}
	p = out
	return out
}

// lowest returns the most negative finite value of a float dtype (torch.finfo(dtype).min).
func lowest(dt dtypes.DType) float64 {
	switch dt {
	case dtypes.Float64:
		return -math.MaxFloat64
	case dtypes.Float16:
		return -65504
	case dtypes.BFloat16:
		return -3.3895313892515355e38
	default:
		return -math.MaxFloat32
	}
}

// CausalMask returns a boolean mask [1, 1, qLen, kLen] where query i may see key j iff
// j ≤ i + offset. offset is the number of keys before the first query (the length of a KV
// cache); use 0 for a plain forward pass.
func CausalMask(g *graph.Graph, qLen, kLen, offset int) *graph.Node {
	qi := graph.Iota(g, shapeInt32(qLen, kLen), 0) // row index i
	kj := graph.Iota(g, shapeInt32(qLen, kLen), 1) // column index j
	m := graph.LessOrEqual(kj, graph.AddScalar(qi, offset))
	return graph.Reshape(m, 1, 1, qLen, kLen)
}

// CausalMaskAt is CausalMask with a dynamic offset (an int32 scalar node), used by
// incremental decoding where the position changes every step without recompiling.
func CausalMaskAt(qLen, kLen int, offset *graph.Node) *graph.Node {
	g := offset.Graph()
	qi := graph.Iota(g, shapeInt32(qLen, kLen), 0)
	kj := graph.Iota(g, shapeInt32(qLen, kLen), 1)
	m := graph.LessOrEqual(kj, graph.Add(qi, graph.ConvertDType(offset, dtypes.Int32)))
	return graph.Reshape(m, 1, 1, qLen, kLen)
}

// PaddingMask turns a key mask [b, k] (nonzero/true = real token, 0/false = padding, as
// Hugging Face's attention_mask) into a boolean mask [b, 1, 1, k].
func PaddingMask(keyMask *graph.Node) *graph.Node {
	m := keyMask
	if m.DType() != dtypes.Bool {
		m = graph.NotEqual(m, graph.ZerosLike(m))
	}
	dims := m.Shape().Dimensions
	return graph.Reshape(m, dims[0], 1, 1, dims[1])
}

// CombineMasks returns the logical AND of the non-nil masks (nil if all are nil).
func CombineMasks(masks ...*graph.Node) *graph.Node {
	var out *graph.Node
	for _, m := range masks {
		if m == nil {
			continue
		}
		if out == nil {
			out = m
			continue
		}
		dims := broadcastDims(out.Shape().Dimensions, m.Shape().Dimensions)
		out = graph.LogicalAnd(graph.BroadcastToDims(out, dims...), graph.BroadcastToDims(m, dims...))
	}
	return out
}

func broadcastDims(a, b []int) []int {
	out := make([]int, len(a))
	for i := range a {
		out[i] = max(a[i], b[i])
	}
	return out
}

// SplitHeads reshapes [b, s, h·d] into [b, h, s, d].
func SplitHeads(x *graph.Node, heads int) *graph.Node {
	dims := x.Shape().Dimensions
	b, s, m := dims[0], dims[1], dims[2]
	x = graph.Reshape(x, b, s, heads, m/heads) // [b, s, h, d]
	return graph.Transpose(x, 1, 2)            // [b, h, s, d]
}

// MergeHeads reshapes [b, h, s, d] back into [b, s, h·d].
func MergeHeads(x *graph.Node) *graph.Node {
	dims := x.Shape().Dimensions
	b, h, s, d := dims[0], dims[1], dims[2], dims[3]
	x = graph.Transpose(x, 1, 2) // [b, s, h, d]
	return graph.Reshape(x, b, s, h*d)
}
