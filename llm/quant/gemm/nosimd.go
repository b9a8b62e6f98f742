//go:build !goexperiment.simd || !amd64

package gemm

// Without archsimd only the plain-Go implementation exists.
func registerSIMD() {}
