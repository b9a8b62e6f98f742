package viz

import (
	"math"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	c := Lines([]string{"1%", "5%"}, "labels", "macro-F1", Series{"pretrained", []float64{0.5, 0.8}}, Series{"scratch", []float64{0.2, 0.4}})
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	h := c.HTML()
	for _, want := range []string{`"pretrained"`, `"scratch"`, `"macro-F1"`, `"line"`} {
		if !strings.Contains(h, want) {
			t.Errorf("chart HTML lacks %s", want)
		}
	}
	for _, bad := range []*Chart{
		Lines([]string{"a"}, "x", "y"),
		Lines(nil, "x", "y", Series{"s", nil}),
		Lines([]string{"a", "b"}, "x", "y", Series{"s", []float64{1}}),
		Lines([]string{"a"}, "x", "y", Series{"s", []float64{math.NaN()}}),
	} {
		if bad.Err() == nil {
			t.Error("bad input accepted")
		}
	}
}
