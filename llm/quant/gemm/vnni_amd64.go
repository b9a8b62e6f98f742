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
