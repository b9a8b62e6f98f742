package llm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
)

// TestTokenNLLGradient checks tokenNLL's value and its written-out gradient (the fused
// softmax path) against float64 math: nll = logsumexp(x) − x[label], ∂/∂x = w·(softmax(x) −
// onehot(label)), on random logits with masked labels (−100), odd sizes, large logits and a
// label whose probability underflows (the loss is clamped at 87.34, the gradient exact).
func TestTokenNLLGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	be := backend.MustGet()
	for _, dims := range [][3]int{{1, 1, 1}, {1, 1, 2}, {2, 3, 5}, {3, 7, 17}, {2, 5, 100}, {4, 9, 3000}} {
		b, s, v := dims[0], dims[1], dims[2]
		logits := make([]float32, b*s*v)
		for i := range logits {
			logits[i] = float32(rng.NormFloat64() * 4)
		}
		labels := make([][]int32, b)
		ws := make([][]float32, b)
		for i := range labels {
			labels[i] = make([]int32, s)
			ws[i] = make([]float32, s)
			for j := range labels[i] {
				labels[i][j] = int32(rng.IntN(v))
				if rng.IntN(4) == 0 {
					labels[i][j] = -100
				}
				ws[i][j] = float32(rng.NormFloat64())
			}
		}
		if v >= 2 {
			// One row with a label ~200 nats below the top logit: p underflows to 0.
			logits[0], logits[1] = 150, -50
			labels[0][0] = 1
		}
		e := MustNewExec(be, func(x, lab, w *Node) []*Node {
			x = Reshape(x, b, s, v)
			nll, valid := tokenNLL(x, lab)
			return []*Node{nll, valid, Gradient(ReduceAllSum(Mul(nll, w)), x)[0]}
		})
		out := e.MustExec(logits, labels, ws)
		nll, valid, grad := out[0].Value().([][]float32), out[1].Value().([][]float32), out[2].Value().([][][]float32)
		for i := range b {
			for j := range s {
				row := logits[(i*s+j)*v : (i*s+j+1)*v]
				m := math.Inf(-1)
				for _, x := range row {
					m = math.Max(m, float64(x))
				}
				var sum float64
				for _, x := range row {
					sum += math.Exp(float64(x) - m)
				}
				lse := m + math.Log(sum)
				lab := labels[i][j]
				wantNLL, wantValid := 0.0, 0.0
				if lab >= 0 {
					wantNLL, wantValid = math.Min(lse-float64(row[lab]), 87.336544750553), 1
				}
				if valid[i][j] != float32(wantValid) || math.Abs(float64(nll[i][j])-wantNLL) > 2e-5*(1+wantNLL) {
					t.Fatalf("%v [%d,%d] label %d: nll %g valid %g, want %g %g", dims, i, j, lab, nll[i][j], valid[i][j], wantNLL, wantValid)
				}
				for k, x := range row {
					want := 0.0
					if lab >= 0 {
						want = math.Exp(float64(x)-lse) * float64(ws[i][j])
						if int32(k) == lab {
							want -= float64(ws[i][j])
						}
					}
					if got := float64(grad[i][j][k]); math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
						t.Fatalf("%v [%d,%d,%d] label %d: grad %g, want %g", dims, i, j, k, lab, got, want)
					}
				}
			}
		}
	}
}
