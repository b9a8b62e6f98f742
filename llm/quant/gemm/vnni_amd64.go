package gemm

// AVX512-VNNI kernels in vnni_amd64.s. archsimd (Go 1.26) has no VPDPBUSD, which does 64
// u8×s8 multiply-adds into 16 int32 lanes in one instruction; without it the same work
// takes VPMADDUBSW + VPMADDWD + VPADDD. The callers check the CPU first.

// vnni4x64 computes acc[i][c] = Σ_j a[i·lda + j]·b(c, j) for 4 rows i of int8 activations
// and the 64 channels c of one W8A8 panel b ([kq][64][4] unsigned codes), k < 4·kq.
//
//go:noescape
func vnni4x64(a *int8, lda int, b *uint8, kq int, acc *[4][nb]int32)

// vnni1x64 is vnni4x64 for one row.
//
//go:noescape
func vnni1x64(a *int8, b *uint8, kq int, acc *[nb]int32)

// vnni4bit1x64 computes, for one row of int8 activations and one W4A8 panel, the integer
// sums Σ a·code of each of groups groups of oct k-octets into acc[g·64 : g·64+64]
// (oct ≥ 1, groups ≥ 1).
//
//go:noescape
func vnni4bit1x64(a *int8, b *uint8, oct int, groups int, acc *int32)

// vnni4bit1x64f is vnni4bit1x64 fused with the epilogue of a layer with one zero point:
// out[c] = Σ_g scale[g·64+c]·float32(Σ_{k∈g} a·code − corr[g]) for the groups of one
// panel (scale points at the panel's [groups][64] scales, corr at the row's groups).
//
//go:noescape
func vnni4bit1x64f(a *int8, b *uint8, oct int, groups int, corr *int32, scale *float32, out *[nb]float32)
