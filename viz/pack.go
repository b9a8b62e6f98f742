package viz

import (
	"fmt"
	"math"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Packed is a float array quantized on a square-root scale, one or two base64url
// characters per value (see the package doc). The runtime's decode inverts it.
type Packed struct {
	// Bits per value: 6 or 12.
	Bits int `json:"bits"`
	// Signed values use the levels around the middle for ±.
	Signed bool `json:"signed,omitempty"`
	// Max is the largest |value|; it maps to the top level.
	Max float64 `json:"max"`
	// Data holds Bits/6 characters per value.
	Data string `json:"data"`
}

// pack quantizes vals, using 12 bits if that fits in budget characters, else 6.
// Values must be finite; unsigned packing needs vals ≥ 0.
func pack(vals []float64, signed bool, budget int) (Packed, error) {
	bits := 12
	if 2*len(vals) > budget {
		bits = 6
	}
	max := 0.0
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Packed{}, fmt.Errorf("value %d is %v", i, v)
		}
		if !signed && v < 0 {
			return Packed{}, fmt.Errorf("value %d is %v < 0", i, v)
		}
		max = math.Max(max, math.Abs(v))
	}
	levels := 1<<bits - 1
	half := levels >> 1
	per := bits / 6
	buf := make([]byte, 0, per*len(vals))
	for _, v := range vals {
		q := 0
		if max > 0 {
			r := math.Sqrt(math.Abs(v) / max)
			if signed {
				d := int(math.Round(r * float64(half)))
				if v < 0 {
					d = -d
				}
				q = half + d
			} else {
				q = int(math.Round(r * float64(levels)))
			}
		} else if signed {
			q = half
		}
		if per == 2 {
			buf = append(buf, b64url[q>>6], b64url[q&63])
		} else {
			buf = append(buf, b64url[q])
		}
	}
	return Packed{Bits: bits, Signed: signed, Max: max, Data: string(buf)}, nil
}

// unpack is the Go twin of the runtime's decode, used by tests.
func unpack(p Packed) ([]float64, error) {
	per := p.Bits / 6
	if per != 1 && per != 2 || len(p.Data)%per != 0 {
		return nil, fmt.Errorf("bad packed array: %d bits, %d chars", p.Bits, len(p.Data))
	}
	levels := 1<<p.Bits - 1
	half := levels >> 1
	out := make([]float64, len(p.Data)/per)
	for i := range out {
		q := 0
		for j := 0; j < per; j++ {
			c := p.Data[i*per+j]
			k := -1
			for n := 0; n < 64; n++ {
				if b64url[n] == c {
					k = n
				}
			}
			if k < 0 {
				return nil, fmt.Errorf("bad character %q", c)
			}
			q = q<<6 | k
		}
		if p.Signed {
			d := float64(q - half)
			out[i] = math.Copysign(p.Max*(d/float64(half))*(d/float64(half)), d)
		} else {
			r := float64(q) / float64(levels)
			out[i] = p.Max * r * r
		}
	}
	return out, nil
}
