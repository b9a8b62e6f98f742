package attention

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func randMat(r *rand.Rand, n, m int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, m)
		for j := range out[i] {
			out[i][j] = r.NormFloat64()
		}
	}
	return out
}

// flatten4 packs [b][h][s][d] into a float32 tensor.
func flatten4(x [][][][]float64) *tensors.Tensor {
	b, h, s, d := len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
	flat := make([]float32, 0, b*h*s*d)
	for _, xb := range x {
		for _, xh := range xb {
			for _, xs := range xh {
				for _, v := range xs {
					flat = append(flat, float32(v))
				}
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, b, h, s, d)
}

// runAttention executes ScaledDotProduct on the Go backend with a causal mask and/or a
// key padding mask [b, k] and returns out [b,h,q,d] and probs [b,h,q,k] flattened.
func runAttention(t *testing.T, q, k, v [][][][]float64, causal bool, keyMask [][]int32) ([]float32, []float32) {
	t.Helper()
	be := backend.MustGet()
	args := []any{flatten4(q), flatten4(k), flatten4(v)}
	var km *tensors.Tensor
	if keyMask != nil {
		km = tensors.FromValue(keyMask)
		args = append(args, km)
	}
	exec, err := graph.NewExec(be, func(in []*graph.Node) []*graph.Node {
		var mask *graph.Node
		if causal {
			qLen, kLen := in[0].Shape().Dimensions[2], in[1].Shape().Dimensions[2]
			mask = CausalMask(in[0].Graph(), qLen, kLen, kLen-qLen)
		}
		if len(in) > 3 {
			mask = CombineMasks(mask, PaddingMask(in[3]))
		}
		out, probs := ScaledDotProduct(in[0], in[1], in[2], mask)
		return []*graph.Node{out, probs}
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
}

func TestGraphMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const b, h, qn, kn, d = 2, 3, 5, 7, 4
	mk := func(n int) [][][][]float64 {
		x := make([][][][]float64, b)
		for i := range x {
			x[i] = make([][][]float64, h)
			for j := range x[i] {
				x[i][j] = randMat(r, n, d)
			}
		}
		return x
	}
	q, k, v := mk(qn), mk(kn), mk(kn)
	keyMask := [][]int32{{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}}
	for _, causal := range []bool{false, true} {
		out, probs := runAttention(t, q, k, v, causal, keyMask)
		for bi := range b {
			for hi := range h {
				// Build the same mask in plain Go.
				mask := make([][]bool, qn)
				for i := range mask {
					mask[i] = make([]bool, kn)
					for j := range mask[i] {
						mask[i][j] = keyMask[bi][j] == 1 && (!causal || j <= i+kn-qn)
					}
				}
				ref, err := Reference(q[bi][hi], k[bi][hi], v[bi][hi], mask)
				if err != nil {
					t.Fatal(err)
				}
				for i := range qn {
					var rowSum float64
					for j := range kn {
						got := float64(probs[((bi*h+hi)*qn+i)*kn+j])
						rowSum += got
						if math.Abs(got-ref.Probs[i][j]) > 1e-5 {
							t.Fatalf("causal=%v probs[%d,%d,%d,%d]=%g, reference %g", causal, bi, hi, i, j, got, ref.Probs[i][j])
						}
						if !mask[i][j] && got != 0 {
							t.Fatalf("causal=%v masked probs[%d,%d,%d,%d]=%g, want 0", causal, bi, hi, i, j, got)
						}
					}
					if math.Abs(rowSum-1) > 1e-5 {
						t.Fatalf("probabilities of row %d sum to %g", i, rowSum)
					}
					for dd := range d {
						got := float64(out[((bi*h+hi)*qn+i)*d+dd])
						if math.Abs(got-ref.Out[i][dd]) > 1e-5 {
							t.Fatalf("causal=%v out[%d,%d,%d,%d]=%g, reference %g", causal, bi, hi, i, dd, got, ref.Out[i][dd])
						}
					}
				}
			}
		}
	}
}

func TestReferenceKnownValues(t *testing.T) {
	// One query, two keys: scores [2, 0] / √2 → softmax → probs; hand-computed.
	q := [][]float64{{1, 1}}
	k := [][]float64{{1, 1}, {1, -1}}
	v := [][]float64{{10, 0}, {0, 10}}
	s, err := Reference(q, k, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := math.Exp(2 / math.Sqrt2)
	p0 := e / (e + 1)
	if math.Abs(s.Probs[0][0]-p0) > 1e-12 || math.Abs(s.Out[0][0]-10*p0) > 1e-12 || math.Abs(s.Out[0][1]-10*(1-p0)) > 1e-12 {
		t.Fatalf("got probs %v out %v, want p0=%g", s.Probs, s.Out, p0)
	}
	// A causal mask on two tokens: the first token sees only itself.
	s, _ = Reference(k, k, v, CausalBoolMask(2))
	if s.Probs[0][0] != 1 || s.Probs[0][1] != 0 {
		t.Fatalf("causal first row = %v, want [1 0]", s.Probs[0])
	}
	if _, err := Reference(q, k, v[:1], nil); err == nil {
		t.Fatal("mismatched keys/values should fail")
	}
}
