package llm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
)

// TestGeluTanhGradient checks gelu_new's value and its hand-written gradient (the one the
// fused op uses in training) against float64 math on random and edge inputs, and against
// autodiff of the decomposed formula.
func TestGeluTanhGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	xs := []float32{0, -0, 1e-6, -1e-6, 0.5, -0.5, 3, -3, 6, -6, 12, -12, 40, -40}
	for range 1000 {
		xs = append(xs, float32(rng.NormFloat64()*2))
	}
	ws := make([]float32, len(xs))
	for i := range ws {
		ws[i] = float32(rng.NormFloat64())
	}
	be := backend.MustGet()
	run := func(gelu func(*Node) *Node) (y, grad []float32) {
		e := MustNewExec(be, func(x, w *Node) []*Node {
			y := gelu(x)
			return []*Node{y, Gradient(ReduceAllSum(Mul(y, w)), x)[0]}
		})
		out := e.MustExec(xs, ws)
		return out[0].Value().([]float32), out[1].Value().([]float32)
	}
	yF, gF := run(geluTanh)
	yD, gD := run(geluTanhDecomposed)
	for i, x32 := range xs {
		x := float64(x32)
		th := math.Tanh(geluC * (x + geluA*x*x*x))
		wantY := 0.5 * x * (1 + th)
		wantG := float64(ws[i]) * (0.5*(1+th) + 0.5*x*(1-th*th)*geluC*(1+3*geluA*x*x))
		tol := func(want float64) float64 { return 2e-6 * (1 + math.Abs(want)) }
		if math.Abs(float64(yF[i])-wantY) > tol(wantY) || math.Abs(float64(yD[i])-wantY) > tol(wantY) {
			t.Fatalf("gelu(%g) = %g (fused), %g (decomposed), want %g", x, yF[i], yD[i], wantY)
		}
		if math.Abs(float64(gF[i])-wantG) > tol(wantG) {
			t.Fatalf("w·gelu'(%g) = %g, want %g", x, gF[i], wantG)
		}
		if math.Abs(float64(gD[i])-wantG) > tol(wantG) {
			t.Fatalf("decomposed w·gelu'(%g) = %g, want %g", x, gD[i], wantG)
		}
	}
}
