// Package gemm computes the linear layer y = x·Wᵀ + b on the CPU with float32, int8 and int4
// weights: the kernels behind quant's speed-up.
//
// Shapes: x is [M, K] (M rows of activations, K input features), W is [N, K] (one row per
// output channel, as PyTorch and Hugging Face store nn.Linear), b is [N], y is [M, N].
//
// # Layers
//
//   - [F32]: float32 weights and FMA, the fair baseline on the same engine.
//
//   - [W8A8]: dynamic int8×int8. Each activation row is quantized on the fly,
//     a = round(x·127/max|x|), with scale s_a = max|x|/127. Weights are unsigned codes q with
//     a per-channel scale s_w and zero point z (symmetric weights use z = 128). Then
//
//     y[m,n] = s_a[m]·s_w[n]·( Σ_k a[m,k]·q[n,k] − z[n]·Σ_k a[m,k] ) + b[n]
//
//     where the sum over k runs in exact int32 arithmetic. 64 multiply-adds of u8×s8 bytes
//     cost one VPDPBUSD instruction (AVX-512 VNNI), against 16 float multiply-adds per FMA.
//
//   - [W4A8]: int4 weights in groups (two per byte) with dynamic int8 activations: the
//     nibbles are unpacked to bytes in registers (VPSRLW, VPANDD) and fed to VPDPBUSD, one
//     int32 sum per group, then corrected for the group's zero point and scaled. Half the
//     weight bytes of W8A8, for decoding where weights stream from memory. When every group
//     has the same zero point (symmetric int4: 8), the group correction is one number per
//     row and group, and the kernel (vnni4bit1x64f) applies it and the scales in registers:
//     the int32 group sums never go to memory and no zero array is stored or read.
//
//   - [WeightOnly]: int8 or int4 weights with float32 activations, dequantised in
//     registers. With groups of G columns, scale s and zero z per group:
//
//     y[m,n] = Σ_g s[n,g]·( Σ_{k∈g} x[m,k]·q[n,k] − z[n,g]·Σ_{k∈g} x[m,k] ) + b[n]
//
//     With one zero point z for the whole layer (symmetric int4), the AVX-512 kernel
//     (wo4x64, Go assembly) skips the int→float conversion: VPERMPS looks each nibble up
//     in a 16-entry register table of q − z, and y = Σ_g s·Σ_{k∈g} x·(q − z) + b.
//
// # Layout
//
// Weights are repacked once, at construction, into panels of 64 output channels so that one
// step of the inner loop loads contiguous memory: F32 as [N/64][K][64] floats, W8A8 as
// [N/64][K/4][64][4] bytes (four consecutive k of one channel form the 32-bit lane that
// VPDPBUSD reduces), W4A8 as [N/64][K/8][4][64] bytes (low nibbles k..k+3, high nibbles
// k+4..k+7 of 16 channels per 64-byte vector), WeightOnly as [N/64][K][64] bytes (int8) or [N/64][K/2][64] bytes
// (int4, even k in the low nibble, channel c of a row at byte 4·(c mod 16) + c/16). Panels are split across goroutines, one per core.
// Scales and zero points are stored per panel as [N/64][groups][64]; a layer whose zero
// points are all equal (symmetric quantization) keeps only that one value.
//
// # Implementations
//
// The kernels exist in several implementations, chosen at run time from the CPU features:
// "avx512" (archsimd 512-bit vectors; W8A8 and W4A8 use Go assembly VPDPBUSD kernels when
// the CPU has AVX512-VNNI: "avx512+vnni"), "avx2" (archsimd 256-bit vectors) and "go"
// (plain Go, the reference and the fallback). Without VNNI, W4A8's integer part runs in
// plain Go. archsimd exists only with GOEXPERIMENT=simd on amd64; other builds get
// "go" only. [SetImpl] forces one, for tests and benchmarks.
package gemm
