package computecheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// randomFloat64s returns n values uniform in [-1, 1).
func randomFloat64s(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 2*r.Float64() - 1
	}
	return out
}

// weightedLoss returns Σ f(xs)·w for the constant weights w (same shape as f's output).
func weightedLoss(f func(xs []*Node) *Node, xs []*Node, r *rand.Rand) *Node {
	y := f(xs)
	w := randomFloat64s(r, y.Shape().Size())
	wNode := Const(y.Graph(), tensors.FromFlatDataAndDimensions(w, y.Shape().Dimensions...))
	return ReduceAllSum(Mul(y, ConvertDType(wNode, y.DType())))
}

// checkGradient compares graph.Gradient of Σ f(xs)·w with central finite differences,
// in float64, for every element of every input.
func checkGradient(t *testing.T, inputDims [][]int, f func(xs []*Node) *Node) {
	t.Helper()
	be, err := backend.Get()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, uint64(len(inputDims))))
	seed := r.Uint64()
	inputs := make([]*tensors.Tensor, len(inputDims))
	flats := make([][]float64, len(inputDims))
	for i, dims := range inputDims {
		flats[i] = randomFloat64s(r, shapes.Make(dtypes.Float64, dims...).Size())
		inputs[i] = tensors.FromFlatDataAndDimensions(flats[i], dims...)
	}
	build := func(withGrad bool) *Exec {
		exec, err := NewExec(be, func(xs []*Node) []*Node {
			loss := weightedLoss(f, xs, rand.New(rand.NewPCG(seed, 0)))
			if !withGrad {
				return []*Node{loss}
			}
			return append([]*Node{loss}, Gradient(loss, xs...)...)
		})
		if err != nil {
			t.Fatal(err)
		}
		return exec
	}
	args := func(ts []*tensors.Tensor) []any {
		out := make([]any, len(ts))
		for i, x := range ts {
			out[i] = x
		}
		return out
	}
	res, err := build(true).Exec(args(inputs)...)
	if err != nil {
		t.Fatal(err)
	}
	lossOnly := build(false)
	const h = 1e-5
	for i := range inputs {
		grad := tensors.MustCopyFlatData[float64](res[1+i])
		for j := range flats[i] {
			eval := func(delta float64) float64 {
				perturbed := append([]float64(nil), flats[i]...)
				perturbed[j] += delta
				ts := append([]*tensors.Tensor(nil), inputs...)
				ts[i] = tensors.FromFlatDataAndDimensions(perturbed, inputDims[i]...)
				out, err := lossOnly.Exec(args(ts)...)
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float64](out[0])[0]
			}
			numeric := (eval(h) - eval(-h)) / (2 * h)
			if math.Abs(numeric-grad[j]) > 1e-6*max(1, math.Abs(numeric)) {
				t.Fatalf("input %d %v, element %d: gradient %.10g, finite difference %.10g", i, inputDims[i], j, grad[j], numeric)
			}
		}
	}
}

func TestTransposeGradient(t *testing.T) {
	for _, c := range []struct{ dims, perm []int }{
		{[]int{5, 7}, []int{1, 0}},             // 2-D, tiled path.
		{[]int{3, 17, 5}, []int{0, 2, 1}},      // batched 2-D.
		{[]int{2, 3, 5, 4}, []int{0, 2, 1, 3}}, // [b,s,h,d] -> [b,h,s,d]: row copies.
		{[]int{3, 1, 4}, []int{1, 0, 2}},       // identity after dropping the 1.
		{[]int{2, 3, 4, 5}, []int{3, 1, 0, 2}}, // generic.
	} {
		t.Run(fmt.Sprintf("%v_%v", c.dims, c.perm), func(t *testing.T) {
			checkGradient(t, [][]int{c.dims}, func(xs []*Node) *Node {
				// Mul by x keeps the loss non-linear, so the gradient depends on x.
				y := TransposeAllDims(Mul(xs[0], xs[0]), c.perm...)
				return y
			})
		})
	}
}

func TestReduceGradient(t *testing.T) {
	for _, c := range []struct {
		dims, axes []int
	}{
		{[]int{3, 5, 31}, []int{2}},    // last axis.
		{[]int{3, 5, 7}, []int{0, 1}},  // leading axes.
		{[]int{3, 5, 7}, []int{1}},     // middle axis.
		{[]int{3, 5, 7}, []int{0, 2}},  // not contiguous (iterator path).
		{[]int{2, 1, 17}, []int{0, 2}}, // contiguous once the 1 is dropped.
	} {
		t.Run(fmt.Sprintf("sum_%v_%v", c.dims, c.axes), func(t *testing.T) {
			checkGradient(t, [][]int{c.dims}, func(xs []*Node) *Node {
				return ReduceSum(Mul(xs[0], xs[0]), c.axes...)
			})
		})
		t.Run(fmt.Sprintf("max_%v_%v", c.dims, c.axes), func(t *testing.T) {
			checkGradient(t, [][]int{c.dims}, func(xs []*Node) *Node {
				return ReduceMax(xs[0], c.axes...)
			})
		})
	}
}

func TestBroadcastBinaryGradient(t *testing.T) {
	for _, c := range []struct {
		name     string
		lhs, rhs []int
		op       func(a, b *Node) *Node
	}{
		{"sub", []int{3, 5, 31}, []int{3, 5, 1}, Sub},     // x - max(x): softmax.
		{"div", []int{3, 5, 7}, []int{3, 5, 1}, Div},      // x / Σx.
		{"mul", []int{3, 5, 1}, []int{3, 5, 7}, Mul},      // column scale.
		{"add", []int{4, 1, 6}, []int{4, 2, 1}, Add},      // both broadcast.
		{"add_bias", []int{2, 3, 5}, []int{1, 1, 5}, Add}, // bias.
	} {
		t.Run(c.name, func(t *testing.T) {
			checkGradient(t, [][]int{c.lhs, c.rhs}, func(xs []*Node) *Node {
				// Keep Div's denominator away from 0: 2 + x² ≥ 2.
				b := xs[1]
				if c.name == "div" {
					b = AddScalar(Mul(b, b), 2)
				}
				return Mul(c.op(xs[0], b), xs[0]) // non-linear in the lhs too.
			})
		})
	}
}

// checkFloat32MatchesFloat64 runs Σ f(x)·w and its gradient in float32 (the SIMD exp and
// tanh) and in float64 (math.Exp, math.Tanh: the unpatched path) on the same inputs and
// compares them.
func checkFloat32MatchesFloat64(t *testing.T, dims []int, f func(x *Node) *Node) {
	t.Helper()
	be, err := backend.Get()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 13))
	seed := r.Uint64()
	n := shapes.Make(dtypes.Float32, dims...).Size()
	x32 := make([]float32, n)
	x64 := make([]float64, n)
	for i := range x32 {
		x32[i] = float32(r.NormFloat64() * 3)
		x64[i] = float64(x32[i])
	}
	exec, err := NewExec(be, func(x *Node) []*Node {
		loss := weightedLoss(func(xs []*Node) *Node { return f(xs[0]) }, []*Node{x}, rand.New(rand.NewPCG(seed, 0)))
		return []*Node{loss, Gradient(loss, x)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	res32, err := exec.Exec(tensors.FromFlatDataAndDimensions(x32, dims...))
	if err != nil {
		t.Fatal(err)
	}
	res64, err := exec.Exec(tensors.FromFlatDataAndDimensions(x64, dims...))
	if err != nil {
		t.Fatal(err)
	}
	loss32, loss64 := tensors.MustCopyFlatData[float32](res32[0])[0], tensors.MustCopyFlatData[float64](res64[0])[0]
	if math.Abs(float64(loss32)-loss64) > 1e-5*max(1, math.Abs(loss64)) {
		t.Fatalf("loss: float32 %g, float64 %g", loss32, loss64)
	}
	g32, g64 := tensors.MustCopyFlatData[float32](res32[1]), tensors.MustCopyFlatData[float64](res64[1])
	var scale float64
	for _, g := range g64 {
		scale = max(scale, math.Abs(g))
	}
	for i := range g64 {
		if math.Abs(float64(g32[i])-g64[i]) > 1e-5*max(scale, 1e-3) {
			t.Fatalf("gradient element %d: float32 %g, float64 %g (largest |gradient| %g)", i, g32[i], g64[i], scale)
		}
	}
}

func TestVectorMathGradientFloat32(t *testing.T) {
	for _, c := range []struct {
		name string
		dims []int
		f    func(x *Node) *Node
	}{
		{"exp", []int{3, 37}, func(x *Node) *Node { return Exp(MulScalar(x, 0.5)) }},
		{"tanh", []int{5, 33}, Tanh},
		{"log_softmax", []int{4, 301}, func(x *Node) *Node { return LogSoftmax(x, -1) }},
		{"softmax", []int{2, 3, 17, 19}, func(x *Node) *Node { return Softmax(x, -1) }},
		{"gelu_tanh", []int{6, 65}, func(x *Node) *Node {
			// GPT-2's gelu_new, as llm builds it: fused forward, decomposed gradient.
			out, _ := InternalFusedOpCaller(
				func() *Node { return BackendFusedGelu(x, false) },
				func() *Node {
					inner := MulScalar(Add(x, MulScalar(Mul(Mul(x, x), x), 0.044715)), math.Sqrt(2/math.Pi))
					return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
				}, true)
			return out
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkFloat32MatchesFloat64(t, c.dims, c.f)
		})
	}
}

func TestDotGeneralGradient(t *testing.T) {
	for _, c := range []struct {
		equation string
		lhs, rhs []int
	}{
		// Dense layer and tied LM head with more outputs than inputs: the weight gradient
		// gᵀ·x is computed with the operands swapped (see chooseTransposition).
		{"bsm,mn->bsn", []int{3, 5, 3}, []int{3, 40}},
		{"bsm,vm->bsv", []int{3, 5, 3}, []int{40, 3}},
		{"bsm,mn->bsn", []int{3, 5, 7}, []int{7, 4}},
		{"bqd,bkd->bqk", []int{4, 6, 5}, []int{4, 9, 5}}, // attention scores.
		{"bqk,bkd->bqd", []int{4, 6, 9}, []int{4, 9, 5}}, // attention context.
	} {
		t.Run(c.equation, func(t *testing.T) {
			checkGradient(t, [][]int{c.lhs, c.rhs}, func(xs []*Node) *Node {
				return Einsum(c.equation, xs[0], xs[1])
			})
		})
	}
}

func TestSliceGradient(t *testing.T) {
	// GPT-2 splits its fused qkv projection [b, s, 3m] with three slices; their gradients
	// are pads of [b, s, m] back to [b, s, 3m].
	checkGradient(t, [][]int{{2, 3, 12}}, func(xs []*Node) *Node {
		x := Mul(xs[0], xs[0])
		q := Slice(x, AxisRange(), AxisRange(), AxisRange(0, 4))
		k := Slice(x, AxisRange(), AxisRange(), AxisRange(4, 8))
		v := Slice(x, AxisRange(), AxisRange(1, 3), AxisRange(8, 12))
		return Concatenate([]*Node{Mul(q, k), v}, 1)
	})
}
