package gemm

// AVX-512 kernel for int4 WeightOnly in wo4_amd64.s. The nibbles are turned into floats by
// a table lookup (VPERMPS, which uses the low 4 bits of each index lane) instead of an
// int→float conversion, and the codes of 128 weights come from one 64-byte load and seven
// shifts (nib4 layout) instead of four widening loads.

// wo4x64 computes, for one row x of float32 activations and one int4 WeightOnly panel w
// ([pairs][64] bytes in nib4 order, even k in the low nibble), out[c] = Σ_g scale[g·64+c]·Σ_{k∈g}
// x[k]·tab[code(c,k)] over ng groups: pairs k-pairs per group, except last in the last
// group (pairs, last ≥ 1). tab maps a code to its value without the scale, code − zero.
//
//go:noescape
func wo4x64(x *float32, w *uint8, scale *float32, tab *[16]float32, ng, pairs, last int, out *[nb]float32)
