package qmodel

import "testing"

// TimeDecode times exactly the requested steps, reports the decoder it built, and refuses
// a decode that does not fit the model.
func TestTimeDecode(t *testing.T) {
	m := loadTiny(t)
	for _, f := range Formats {
		d, err := TimeDecode(m, f, []int{1, 2, 3}, 5)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		g, err := NewGPT(m, f)
		if err != nil {
			t.Fatal(err)
		}
		if d.Tokens != 5 || len(d.StepMs) != 5 || d.Bytes != g.Bytes() || !(d.Seconds > 0) || !(d.TokensPerSecond() > 0) {
			t.Fatalf("%s: %+v (decoder bytes %d)", f, d, g.Bytes())
		}
		for _, ms := range d.StepMs {
			if ms < 0 || ms > 1e3*d.Seconds {
				t.Fatalf("%s: step %.3f ms outside the %.3f s total", f, ms, d.Seconds)
			}
		}
	}
	if _, err := TimeDecode(m, F32, []int{1}, m.Config.MaxPos); err == nil {
		t.Fatal("a decode longer than the positions was accepted")
	}
	if _, err := TimeDecode(m, F32, nil, 3); err == nil {
		t.Fatal("an empty prompt was accepted")
	}
}
