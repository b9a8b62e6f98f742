package exercise

import (
	"strings"
	"testing"
)

func TestGrade(t *testing.T) {
	empty := []Case{{Name: "a", Empty: true}, {Name: "b", Empty: true}}
	mixed := []Case{{Name: "a", Passed: true}, {Name: "b", Empty: true, Detail: "got nil"}}
	good := []Case{{Name: "a", Passed: true}, {Name: "b", Passed: true}}
	for _, tc := range []struct {
		cases []Case
		want  Status
		hint  string
		marks []string
	}{
		{empty, NotDone, "write it", []string{FailMark + " ex：" + NotDoneText, "提示 (hint)：write it"}},
		{nil, NotDone, "write it", []string{NotDoneText}},
		{mixed, Failed, "fix it", []string{FailMark + " ex：" + FailedText, "通过 1/2", "  " + PassMark + " a", "  " + FailMark + " b", "      got nil", "提示 (hint)：fix it"}},
		{good, Passed, "", []string{PassMark + " ex：" + PassedText + "，2/2"}},
	} {
		r := Grade("ex", tc.cases, "fix it", "write it")
		if r.Status != tc.want || r.Hint != tc.hint {
			t.Errorf("Grade(%v) = %v hint %q, want %v hint %q", tc.cases, r.Status, r.Hint, tc.want, tc.hint)
		}
		s := r.String()
		for _, m := range tc.marks {
			if !strings.Contains(s, m) {
				t.Errorf("%v: %q lacks %q", tc.want, s, m)
			}
		}
		if (r.Err() == nil) != (tc.want == Passed) || r.Passed() != (tc.want == Passed) {
			t.Errorf("%v: Err %v Passed %v", tc.want, r.Err(), r.Passed())
		}
	}
	// Emoji are not in the CJK fonts: the report must not use them.
	for _, st := range []Status{NotDone, Failed, Passed} {
		s := Result{Exercise: "x", Status: st, Cases: mixed, Hint: "h"}.String()
		if strings.ContainsAny(s, "✅❌") {
			t.Errorf("%v report uses emoji: %q", st, s)
		}
	}
}

func TestProtect(t *testing.T) {
	var s []int
	err := Protect(func() { _ = s[3] })
	if err == nil || !strings.HasPrefix(err.Error(), "panic: ") || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("Protect = %v, want the panic as an error", err)
	}
	if err := Protect(func() {}); err != nil {
		t.Errorf("Protect(no panic) = %v", err)
	}
}
