package quant

import (
	"fmt"
	"math"
)

// NF4Levels are the 16 values of the 4-bit NormalFloat data type (QLoRA, Dettmers et al.,
// 2023), as bitsandbytes stores them: quantiles of a standard normal distribution, scaled
// to [−1, 1], with an exact zero (8 levels ≥ 0, 7 below). A weight block normalised by its
// absolute maximum is rounded to the nearest level, so levels sit closer together where
// normally distributed weights are dense.
var NF4Levels = [16]float32{
	-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
	-0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0,
	0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
	0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
}

// NF4Tensor is a [Rows, Cols] matrix in NF4: the row-major values are cut into blocks of
// Block consecutive values (the last one may be shorter), each stored as 4-bit indices into
// [NF4Levels] (two per byte, even element in the low nibble) times the block's absmax.
type NF4Tensor struct {
	Rows, Cols, Block int
	Data              []byte    // packed level indices
	Absmax            []float32 // one per block
}

// QuantizeNF4 quantizes w ([rows, cols], row-major) to NF4 with blocks of block values
// (QLoRA uses 64).
func QuantizeNF4(w []float32, rows, cols, block int) (*NF4Tensor, error) {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("quant: NF4: %d values for [%d, %d]", len(w), rows, cols)
	}
	if block <= 0 {
		return nil, fmt.Errorf("quant: NF4: block size %d must be positive", block)
	}
	n := len(w)
	t := &NF4Tensor{Rows: rows, Cols: cols, Block: block, Absmax: make([]float32, (n+block-1)/block)}
	codes := make([]uint8, n)
	for b := range t.Absmax {
		lo, hi := b*block, min((b+1)*block, n)
		var amax float32
		for _, v := range w[lo:hi] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("quant: NF4: non-finite value %v", v)
			}
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		t.Absmax[b] = amax
		for i := lo; i < hi; i++ {
			x := float32(0)
			if amax > 0 {
				x = w[i] / amax
			}
			codes[i] = nearestNF4(x)
		}
	}
	t.Data = PackInt4(codes)
	return t, nil
}

// nearestNF4 returns the index of the level closest to x ∈ [−1, 1] (ties to the lower one).
func nearestNF4(x float32) uint8 {
	best, bd := 0, float32(math.Inf(1))
	for i, l := range NF4Levels {
		if d := float32(math.Abs(float64(x - l))); d < bd {
			best, bd = i, d
		}
	}
	return uint8(best)
}

// Dequantize returns the float32 matrix the tensor represents, row-major.
func (t *NF4Tensor) Dequantize() []float32 {
	n := t.Rows * t.Cols
	codes := UnpackInt4(t.Data, n)
	out := make([]float32, n)
	for i, c := range codes {
		out[i] = NF4Levels[c&15] * t.Absmax[i/t.Block]
	}
	return out
}

// Bytes is the storage of the packed indices and the float32 absmax of every block.
func (t *NF4Tensor) Bytes() int { return len(t.Data) + 4*len(t.Absmax) }
