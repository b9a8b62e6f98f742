package week1

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm/attention"
)

func naiveSoftmax(x []float64) []float64 { // no max subtraction: overflows
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(v)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestCheckSoftmax(t *testing.T) {
	if r := CheckSoftmax(attention.Softmax); !r.Passed() || r.Hint != "" {
		t.Fatalf("reference rejected:\n%s", r)
	}
	r := CheckSoftmax(naiveSoftmax)
	if r.Passed() {
		t.Fatal("naive softmax accepted")
	}
	for _, c := range r.Cases {
		bad := strings.Contains(c.Name, "overflow") || strings.Contains(c.Name, "underflow") || strings.Contains(c.Name, "[0 1000]")
		if c.Passed == bad {
			t.Errorf("case %q passed=%v", c.Name, c.Passed)
		}
	}
	if !strings.Contains(r.Hint, "max") || !strings.Contains(r.String(), exercise.FailMark) || !strings.Contains(r.String(), "NaN") {
		t.Errorf("feedback does not explain the overflow:\n%s", r)
	}
	// A softmax that writes into its input is caught, and a panic is reported, not raised.
	inPlace := func(x []float64) []float64 {
		p := attention.Softmax(x)
		copy(x, p)
		return x
	}
	if r := CheckSoftmax(inPlace); r.Passed() || !strings.Contains(r.String(), "modified") {
		t.Errorf("in-place softmax:\n%s", r)
	}
	if r := CheckSoftmax(func(x []float64) []float64 { return x[:1] }); r.Passed() {
		t.Error("wrong length accepted")
	}
	if r := CheckSoftmax(func(x []float64) []float64 { panic("boom") }); r.Passed() || !strings.Contains(r.String(), "panic: boom") {
		t.Errorf("panic:\n%s", r)
	}
	if r.Err() == nil || CheckSoftmax(attention.Softmax).Err() != nil {
		t.Error("Err")
	}
	// Subtracting x[0] instead of the maximum passes the easy cases but not the traps.
	firstNotMax := func(x []float64) []float64 {
		out := make([]float64, len(x))
		var s float64
		for i, v := range x {
			out[i] = math.Exp(v - x[0])
			s += out[i]
		}
		for i := range out {
			out[i] /= s
		}
		return out
	}
	r = CheckSoftmax(firstNotMax)
	if r.Passed() || !strings.Contains(r.Hint, "x[0]") {
		t.Errorf("x[0] softmax:\n%s", r)
	}
	for _, c := range r.Cases {
		trap := strings.Contains(c.Name, "[0 1000]") || strings.Contains(c.Name, "[−Inf 0]") || strings.Contains(c.Name, "[1000 1001 1002]") || strings.Contains(c.Name, "[−1000 −1001]")
		if !trap && !c.Passed {
			t.Errorf("x[0] softmax fails %q, which it gets right", c.Name)
		}
		if strings.Contains(c.Name, "[0 1000]") && c.Passed || strings.Contains(c.Name, "[−Inf 0]") && c.Passed {
			t.Errorf("trap %q passed", c.Name)
		}
	}
	// A masked entry must come out exactly 0, not merely small.
	leaky := func(x []float64) []float64 {
		y := append([]float64(nil), x...)
		for i := range y {
			y[i] = max(y[i], -30)
		}
		return attention.Softmax(y)
	}
	if r := CheckSoftmax(leaky); r.Passed() || !strings.Contains(r.String(), "exactly 0") {
		t.Errorf("leaky softmax:\n%s", r)
	}
}

// The stubs of the learner's notebook return nil: every check says "not done yet" with a
// hint instead of failing or panicking.
func TestChecksNotDone(t *testing.T) {
	for name, r := range map[string]exercise.Result{
		"softmax":     CheckSoftmax(func([]float64) []float64 { return nil }),
		"attention":   CheckAttentionHead(func(q, k, v [][]float64) [][]float64 { return nil }),
		"causal mask": CheckCausalMask(func(int) [][]bool { return nil }),
	} {
		if r.Status != exercise.NotDone || r.Hint == "" || !strings.Contains(r.String(), exercise.NotDoneText) {
			t.Errorf("%s stub: status %v\n%s", name, r.Status, r)
		}
	}
}

// attentionWith builds an attention head from the reference pieces, scaling scores by scale(d).
func attentionWith(scale func(d float64) float64, returnProbs bool) func(q, k, v [][]float64) [][]float64 {
	return func(q, k, v [][]float64) [][]float64 {
		s := attention.MatMulT(q, k)
		var p [][]float64
		for _, row := range s {
			for j := range row {
				row[j] *= scale(float64(len(q[0])))
			}
			p = append(p, attention.Softmax(row))
		}
		if returnProbs {
			return p
		}
		return attention.MatMul(p, v)
	}
}

func TestCheckAttentionHead(t *testing.T) {
	good := attentionWith(func(d float64) float64 { return 1 / math.Sqrt(d) }, false)
	if r := CheckAttentionHead(good); !r.Passed() {
		t.Fatalf("correct head rejected:\n%s", r)
	}
	ref := func(q, k, v [][]float64) [][]float64 {
		s, err := attention.Reference(q, k, v, nil)
		if err != nil {
			panic(err)
		}
		return s.Out
	}
	if r := CheckAttentionHead(ref); !r.Passed() {
		t.Fatalf("reference rejected:\n%s", r)
	}
	wrong := map[string]func(q, k, v [][]float64) [][]float64{
		"√d":         attentionWith(func(float64) float64 { return 1 }, false),
		"instead of": attentionWith(func(d float64) float64 { return 1 / d }, false),
		"乘以 V":       attentionWith(func(d float64) float64 { return 1 / math.Sqrt(d) }, true),
		"wrong axis": func(q, k, v [][]float64) [][]float64 { return attentionVariant(q, k, v, "axis") },
	}
	for hint, f := range wrong {
		r := CheckAttentionHead(f)
		if r.Passed() {
			t.Errorf("mistake %q accepted", hint)
			continue
		}
		if !strings.Contains(r.Hint, hint) {
			t.Errorf("mistake %q: hint %q", hint, r.Hint)
		}
	}
	// Unscaled attention is caught by the wide head even though n=1 passes (one key: prob 1).
	r := CheckAttentionHead(wrong["√d"])
	for _, c := range r.Cases {
		if strings.Contains(c.Name, "n=1") && !c.Passed {
			t.Errorf("n=1 cannot tell scaling apart, yet failed: %s", c.Detail)
		}
		if strings.Contains(c.Name, "wide") && c.Passed {
			t.Error("wide head should expose the missing √d")
		}
	}
	// Naive softmax inside attention overflows on large scores.
	naive := func(q, k, v [][]float64) [][]float64 {
		s := attention.MatMulT(q, k)
		var p [][]float64
		for _, row := range s {
			for j := range row {
				row[j] /= math.Sqrt(float64(len(q[0])))
			}
			p = append(p, naiveSoftmax(row))
		}
		return attention.MatMul(p, v)
	}
	r = CheckAttentionHead(naive)
	if r.Passed() || r.Cases[len(r.Cases)-1].Passed {
		t.Errorf("overflowing attention accepted:\n%s", r)
	}
}

func TestCheckCausalMask(t *testing.T) {
	if r := CheckCausalMask(attention.CausalBoolMask); !r.Passed() {
		t.Fatalf("reference rejected:\n%s", r)
	}
	if r := CheckCausalMask(DecoderMask); !r.Passed() {
		t.Fatalf("DecoderMask rejected:\n%s", r)
	}
	mk := func(pred func(i, j int) bool) func(int) [][]bool {
		return func(n int) [][]bool {
			m := make([][]bool, n)
			for i := range m {
				m[i] = make([]bool, n)
				for j := range m[i] {
					m[i][j] = pred(i, j)
				}
			}
			return m
		}
	}
	for hint, f := range map[string]func(int) [][]bool{
		"transposed": mk(func(i, j int) bool { return j >= i }),
		"diagonal":   mk(func(i, j int) bool { return j < i }),
		"encoder":    EncoderMask,
		"j <= i":     func(n int) [][]bool { return DecoderMask(n)[:max(0, n-1)] },
	} {
		r := CheckCausalMask(f)
		if r.Passed() || !strings.Contains(r.Hint, hint) {
			t.Errorf("%s: passed=%v hint=%q", hint, r.Passed(), r.Hint)
		}
	}
	// The transposed mask agrees with the right one when n=1; only n>1 cases fail.
	r := CheckCausalMask(mk(func(i, j int) bool { return j >= i }))
	if !r.Cases[0].Passed || r.Cases[1].Passed || !strings.Contains(r.String(), "want 期望") {
		t.Errorf("transposed:\n%s", r)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }
