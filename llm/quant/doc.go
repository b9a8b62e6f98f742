// Package quant turns float32 weight matrices into 8-bit and 4-bit integers and back, and
// measures what is lost.
//
// # Affine quantization
//
// A real value x is stored as an unsigned integer code q with b bits and recovered as
//
//	x̂ = scale · (q − zero),   q = clamp(round(x/scale) + zero, 0, 2^b − 1)
//
// Symmetric schemes fix zero = 2^(b−1) and use codes in [zero−qmax, zero+qmax] with
// qmax = 2^(b−1) − 1, scale = max|x| / qmax, so 0.0 maps exactly to an integer and the
// signed value q − zero lies in [−127, 127] (int8) or [−7, 7] (int4). Asymmetric schemes
// use the whole range: scale = (max − min)/(2^b − 1), zero = round(−min/scale). For every
// value inside the representable range the error is at most scale/2.
//
// One (scale, zero) pair covers a group of weights. Granularity chooses the group:
// PerTensor (one pair), PerChannel (one per output row) or PerGroup (GroupSize consecutive
// input columns of one row: 32, 64, 128). Smaller groups follow the weights more closely at
// the cost of more scales. Clipping chooses the range: AbsMax keeps every value, Percentile
// ignores the largest |x| (outliers) so the other values get a finer step.
//
// # Methods
//
//   - Round-to-nearest (RTN): [Quantize] rounds every weight independently.
//   - GPTQ ([GPTQ]): quantizes one input column at a time and pushes its rounding error
//     onto the columns not yet quantized, using the inverse Hessian H⁻¹ of the layer's
//     squared output error, H = 2·XᵀX + damp·I, computed from calibration activations X.
//     It minimises ||X·Wᵀ − X·Ŵᵀ||² rather than ||W − Ŵ||².
//   - SmoothQuant ([SmoothScales]): activations have a few huge channels that ruin int8
//     activation scales. Dividing activation channel j by s_j and multiplying weight
//     column j by s_j leaves X·Wᵀ unchanged and moves the difficulty to the weights:
//     s_j = max|X_j|^α / max|W_j|^(1−α).
//   - AWQ ([AWQ]): for weight-only int4, scale up the input channels that meet large
//     activations (s_j = mean|X_j|^α, α searched on calibration data) so their weights round
//     more finely, and divide the activations by s_j.
//
// # Layers and latency
//
// [NewW8A8], [NewWeightOnly] and [NewSmoothQuant] turn a quantized tensor into a [Linear]
// running on the gemm kernels; [Latency] times one (median of repeated calls).
//
// # Error metrics
//
// [Compare] reports MSE, the largest absolute error, the signal-to-noise ratio
// SNR = 10·log10(Σx² / Σ(x − x̂)²) in dB and the cosine similarity of the two vectors.
//
// # Files
//
// [Save] and [Load] store quantized weights in the safetensors format (see file.go for the
// layout): for a weight named X, tensors X.qweight (I8 or packed U8), X.scales (F32) and
// X.zeros (U8), with bits, group size and scheme in the header's __metadata__.
//
// The fast integer matmul kernels live in the sub-package gemm; [NewLinear] builds one from a
// quantized [Tensor].
package quant
