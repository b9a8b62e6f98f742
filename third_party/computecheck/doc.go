// Package computecheck tests divellm's patched copy of GoMLX's compute backend
// (third_party/compute, see its PATCHES.md) the way the model uses it: through GoMLX
// graphs, forward and backward.
//
// The compute module's own tests check each patched kernel against a plain-Go reference
// and against the generic code path it bypasses. They cannot import GoMLX (GoMLX imports
// compute), so the gradients are checked here: for an op f and a fixed random weight w,
//
//	L(x) = Σᵢ f(x)ᵢ·wᵢ
//
// is built as a graph, graph.Gradient gives ∂L/∂x (whose graph runs the patched kernels
// again, e.g. the VJP of a transpose is a transpose and the VJP of a broadcast is a
// reduction), and it is compared with the central finite difference
//
//	∂L/∂xⱼ ≈ (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h
//
// computed in float64, where it is accurate to about 1e-8. Float32-only kernels (the SIMD
// exp and tanh) are compared instead with the same graph in float64, which runs the
// unpatched math.Exp / math.Tanh path.
package computecheck
