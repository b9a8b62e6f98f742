package llm

import (
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// TestSplitLastAxisGradient checks splitLastAxis against plain slices: the slices' values
// and the gradient with respect to x of a loss using them (nonlinearly, one slice unused or
// two used, x also used directly), bit for bit (the gradient is the same values, concatenated
// instead of padded and summed).
func TestSplitLastAxisGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	be := backend.MustGet()
	for _, dims := range [][3]int{{2, 3, 15}, {1, 1, 3}, {3, 5, 12}} {
		for variant := range 3 {
			x := tensors.FromFlatDataAndDimensions(rnd(dims[0]*dims[1]*dims[2]), dims[0], dims[1], dims[2])
			run := func(split func(*Node) []*Node) []float32 {
				e := MustNewExec(be, func(x *Node) []*Node {
					p := split(x)
					loss := ReduceAllSum(Mul(p[0], Tanh(p[1]))) // p[2] unused
					if variant >= 1 {
						loss = Add(loss, ReduceAllSum(Mul(p[2], p[2])))
					}
					if variant == 2 {
						loss = Add(loss, ReduceAllSum(Mul(x, x))) // x used directly too
					}
					out := []*Node{Gradient(loss, x)[0]}
					return append(out, p...)
				})
				res := e.MustExec(x)
				var flat []float32
				for _, r := range res {
					flat = append(flat, r.Value().([][][]float32)[0][0]...)
					for _, a := range r.Value().([][][]float32) {
						for _, b := range a {
							flat = append(flat, b...)
						}
					}
				}
				return flat
			}
			plain := func(x *Node) []*Node {
				w := x.Shape().Dimensions[2] / 3
				return []*Node{SliceAxis(x, 2, AxisRange(0, w)), SliceAxis(x, 2, AxisRange(w, 2*w)), SliceAxis(x, 2, AxisRange(2*w, 3*w))}
			}
			got, want := run(func(x *Node) []*Node { return splitLastAxis(x, 3) }), run(plain)
			if len(got) != len(want) {
				t.Fatalf("%v variant %d: %d values, want %d", dims, variant, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v variant %d: value %d = %g, want %g", dims, variant, i, got[i], want[i])
				}
			}
		}
	}
}
