package week1

import (
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

func TestRevealPattern(t *testing.T) {
	hr := &HeadReportResult{Top: []HeadScore{
		{Pattern: PatternPrevious, Layer: 1, Head: 2, Score: 0.6, Uniform: 0.1},
		{Pattern: PatternFocus + " 钓鱼", Layer: 0, Head: 1, Score: 0.3, Uniform: 0.1},
	}}
	if r := RevealPattern("", hr); r.Status != exercise.NotDone {
		t.Errorf("empty prediction: %v", r.Status)
	}
	r := RevealPattern(PatternPrevious, hr)
	if !r.Passed() || !strings.Contains(r.String(), "6.0×") {
		t.Errorf("right prediction:\n%s", r)
	}
	r = RevealPattern(PatternFocus, hr)
	if r.Passed() || r.Status != exercise.Failed || !strings.Contains(r.String(), PatternPrevious) {
		t.Errorf("wrong prediction:\n%s", r)
	}
	if r := RevealPattern("the previous one", hr); r.Passed() || !strings.Contains(r.String(), "HeadPatterns") {
		t.Errorf("unknown prediction:\n%s", r)
	}
	hr.Top[0], hr.Top[1] = hr.Top[1], hr.Top[0]
	if r := RevealPattern(PatternFocus, hr); !r.Passed() {
		t.Errorf("focus pattern (with its word) should match:\n%s", r)
	}
}
