package attention

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestMaskBiasEqualsWhere checks that ScaledDotProduct's additive mask gives bit for bit
// the probabilities and outputs of masking the scores with Where and graph.Softmax (the
// definition), and the same gradients within 1e-5 of their largest value (the softmax
// gradient is written out, so it rounds differently), with scores up to ±3000; and that a query row whose keys are all masked gets
// uniform probabilities, as with Where. (Only the gradient of such a row differs: Where
// stops it, the bias lets the uniform average's gradient through, as Hugging Face's
// additive padding mask does. A loss never depends on such a row: it is a padding query.)
func TestMaskBiasEqualsWhere(t *testing.T) {
	const b, h, qn, kn, d = 2, 3, 4, 6, 5
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int, scale float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	q, k, v := rnd(b*h*qn*d, 25), rnd(b*h*kn*d, 25), rnd(b*h*kn*d, 1)
	keyMask := [][]int32{{1, 1, 1, 1, 0, 0}, {0, 1, 1, 0, 1, 1}}
	offset := 1 // every query row sees at least one key
	mask := func(g *graph.Graph, km *graph.Node) *graph.Node {
		return CombineMasks(CausalMask(g, qn, kn, offset), PaddingMask(km)) // [b, 1, q, k]
	}
	where := func(q, k, v, m *graph.Node) (*graph.Node, *graph.Node) {
		scores := graph.MulScalar(graph.Einsum("bhqd,bhkd->bhqk", q, k), 1/math.Sqrt(d))
		dims := scores.Shape().Dimensions
		low := graph.Scalar(q.Graph(), scores.DType(), lowest(scores.DType()))
		scores = graph.Where(graph.BroadcastToDims(m, dims...), scores, graph.BroadcastToDims(low, dims...))
		probs := graph.Softmax(scores, -1)
		return graph.Einsum("bhqk,bhkd->bhqd", probs, v), probs
	}
	run := func(attend func(q, k, v, m *graph.Node) (*graph.Node, *graph.Node)) [][]float32 {
		e := graph.MustNewExec(backend.MustGet(), func(q, k, v, km *graph.Node) []*graph.Node {
			q = graph.Reshape(q, b, h, qn, d)
			k, v = graph.Reshape(k, b, h, kn, d), graph.Reshape(v, b, h, kn, d)
			out, probs := attend(q, k, v, mask(q.Graph(), km))
			grads := graph.Gradient(graph.ReduceAllSum(graph.Mul(out, out)), q, k, v)
			return append([]*graph.Node{out, probs}, grads...)
		})
		var res [][]float32
		for _, x := range e.MustExec(q, k, v, keyMask) {
			res = append(res, tensors.MustCopyFlatData[float32](x))
		}
		return res
	}
	got, want := run(ScaledDotProduct), run(where)
	names := []string{"out", "probs", "dq", "dk", "dv"}
	for i := range want {
		var scale float64 // gradients: the softmax VJP is written out, so rounding differs
		for _, w := range want[i] {
			scale = max(scale, math.Abs(float64(w)))
		}
		for j := range want[i] {
			if i < 2 && math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) ||
				math.Abs(float64(got[i][j]-want[i][j])) > 1e-5*scale {
				t.Fatalf("%s[%d] = %g, want %g (Where)", names[i], j, got[i][j], want[i][j])
			}
		}
	}
	// With offset 0, row 0 of batch 1 sees key 0 only, which padding masks: it is uniform.
	offset = 0
	got, want = run(ScaledDotProduct), run(where)
	for j := range want[1] {
		if math.Float32bits(got[1][j]) != math.Float32bits(want[1][j]) {
			t.Fatalf("probs[%d] = %g, want %g (Where)", j, got[1][j], want[1][j])
		}
	}
	for j := range kn {
		if p := got[1][(1*h+0)*qn*kn+j]; math.Abs(float64(p)-1.0/kn) > 1e-6 {
			t.Fatalf("fully masked row: prob[%d] = %g, want 1/%d", j, p, kn)
		}
	}
}
