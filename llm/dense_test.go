package llm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"
)

// TestDenseLayerMatchesNNDense checks denseLayer (the fused op, with the gradient of one
// DotGeneral) against nn.Dense: outputs and the gradients of Σ y·r with respect to x, W
// and b, for both weight layouts, with and without a bias, on a rank-3 x with odd sizes.
func TestDenseLayerMatchesNNDense(t *testing.T) {
	const b0, s, in, out = 3, 5, 7, 11
	rng := rand.New(rand.NewPCG(9, 9))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	be := backend.MustGet()
	for _, layout := range []compute.DenseLayout{compute.DenseLayoutInputOutputs, compute.DenseLayoutOutputsInput} {
		for _, withBias := range []bool{true, false} {
			wDims := []int{in, out}
			if layout == compute.DenseLayoutOutputsInput {
				wDims = []int{out, in}
			}
			x := tensors.FromFlatDataAndDimensions(rnd(b0*s*in), b0, s, in)
			w := tensors.FromFlatDataAndDimensions(rnd(in*out), wDims...)
			bias := tensors.FromFlatDataAndDimensions(rnd(out), out)
			r := tensors.FromFlatDataAndDimensions(rnd(b0*s*out), b0, s, out)
			run := func(f func(x, w, b *Node, l compute.DenseLayout) *Node) [][]float32 {
				e := MustNewExec(be, func(x, w, b, r *Node) []*Node {
					bb := b
					if !withBias {
						bb = nil
					}
					y := f(x, w, bb, layout)
					return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, r)), x, w, b)...)
				})
				var res [][]float32
				for _, v := range e.MustExec(x, w, bias, r) {
					res = append(res, tensors.MustCopyFlatData[float32](v))
				}
				return res
			}
			got := run(denseLayer)
			want := run(func(x, w, b *Node, l compute.DenseLayout) *Node { return nn.Dense(x, w, b, l) })
			for i, name := range []string{"y", "dx", "dw", "db"} {
				for j := range want[i] {
					if math.Abs(float64(got[i][j]-want[i][j])) > 1e-5*(1+math.Abs(float64(want[i][j]))) {
						t.Fatalf("layout %v bias %v: %s[%d] = %g, nn.Dense gives %g", layout, withBias, name, j, got[i][j], want[i][j])
					}
				}
			}
		}
	}
}
