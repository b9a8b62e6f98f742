package week1

import (
	"testing"

	"github.com/divellm/divellm/llm/attention"
)

func TestMasks(t *testing.T) {
	src := []string{"我", "爱", "你"}
	tgt := []string{"I", "love", "you", "."}
	ms, err := Masks(src, tgt)
	if err != nil {
		t.Fatal(err)
	}
	enc, dec, ed := ms[0], ms[1], ms[2]
	if enc.Visible() != 9 || dec.Visible() != 4*5/2 {
		t.Errorf("visible: encoder %d, decoder %d", enc.Visible(), dec.Visible())
	}
	want := attention.CausalBoolMask(4)
	for i := range want {
		for j := range want[i] {
			if dec.M[i][j] != want[i][j] {
				t.Fatalf("decoder mask differs from attention.CausalBoolMask at %d,%d", i, j)
			}
		}
	}
	// Encoder-decoder: encoder rows see only the source; decoder rows see the source and
	// the target causally.
	n := len(src)
	for i := range ed.M {
		for j := range ed.M[i] {
			var w bool
			if i < n {
				w = j < n
			} else {
				w = j < n || (j-n) <= (i-n)
			}
			if ed.M[i][j] != w {
				t.Fatalf("encoder-decoder mask [%d][%d] = %v", i, j, ed.M[i][j])
			}
		}
	}
	if ed.Visible() != 9+4*3+10 || len(ed.Rows) != 7 {
		t.Errorf("encoder-decoder visible %d", ed.Visible())
	}
	f := dec.Floats()
	if f[0][0] != 1 || f[0][1] != 0 || f[3][0] != 1 {
		t.Errorf("floats %v", f)
	}
	if _, err := Masks(nil, tgt); err == nil {
		t.Error("empty source should be an error")
	}
	h, rows := MaskTable()
	if len(rows) != 3 || len(rows[0]) != len(h) {
		t.Error("mask table shape")
	}
}
