package exercise

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/kernel/display"
)

// Status is the verdict of a check.
type Status int

// The three verdicts of a check.
const (
	NotDone Status = iota // the stub is still in place: every case came back empty
	Failed                // at least one case is wrong
	Passed                // every case matches the reference
)

// String returns the verdict in Chinese with the English term, as printed.
func (s Status) String() string {
	switch s {
	case Passed:
		return PassedText
	case Failed:
		return FailedText
	}
	return NotDoneText
}

// The words and marks a printed result starts with; the notebook tests look for them.
const (
	PassMark    = "✓"
	FailMark    = "✗"
	PassedText  = "全部通过 (all passed)"
	FailedText  = "没有通过 (failed)"
	NotDoneText = "还没完成 (not done yet)"
)

// CheckTag is the Jupyter cell tag of a notebook's check cells (lessons/nbgen adds it).
const CheckTag = "exercise-check"

// Case is one test case of a check.
type Case struct {
	Name   string // what the case tests, e.g. "大数值 large values [1000 1001 1002]"
	Passed bool
	Empty  bool   // the answer was empty (nil, zero): what a stub returns
	Detail string // expected vs got when it failed; the first line is the summary
}

// Result is the outcome of checking one exercise.
type Result struct {
	Exercise string // e.g. "softmax"
	Status   Status
	Cases    []Case
	Hint     string // what to do next; for NotDone, what to write
}

// Grade builds a result from its cases: NotDone when every case is Empty (or there are
// none), Passed when every case passed, Failed otherwise. hint is used unless the result
// is Passed; todo is the hint for NotDone (what the stub should become).
func Grade(name string, cases []Case, hint, todo string) Result {
	r := Result{Exercise: name, Cases: cases, Status: Passed}
	empty := 0
	for _, c := range cases {
		if c.Empty {
			empty++
		}
		if !c.Passed {
			r.Status = Failed
		}
	}
	switch {
	case empty == len(cases):
		r.Status, r.Hint = NotDone, todo
	case r.Status == Failed:
		r.Hint = hint
	}
	return r
}

// Passed reports whether the exercise passed.
func (r Result) Passed() bool { return r.Status == Passed }

// String reports the result: a verdict line, then (unless NotDone) each case, the first
// failure in full, and the hint.
func (r Result) String() string {
	var b strings.Builder
	passed := 0
	for _, c := range r.Cases {
		if c.Passed {
			passed++
		}
	}
	switch r.Status {
	case NotDone:
		fmt.Fprintf(&b, "%s %s：%s。把上面格子里的 // TODO 换成你的代码，再运行这个格子。\n", FailMark, r.Exercise, NotDoneText)
		if r.Hint != "" {
			fmt.Fprintf(&b, "提示 (hint)：%s\n", r.Hint)
		}
		return b.String()
	case Passed:
		fmt.Fprintf(&b, "%s %s：%s，%d/%d 个用例 (cases)\n", PassMark, r.Exercise, PassedText, passed, len(r.Cases))
	default:
		fmt.Fprintf(&b, "%s %s：%s，通过 %d/%d 个用例 (cases passed)\n", FailMark, r.Exercise, FailedText, passed, len(r.Cases))
	}
	detailed := false // only the first failure is shown in full
	for _, c := range r.Cases {
		mark := PassMark
		if !c.Passed {
			mark = FailMark
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, c.Name)
		if !c.Passed && c.Detail != "" {
			lines := strings.Split(c.Detail, "\n")
			if detailed {
				lines = lines[:1]
			}
			detailed = true
			for _, line := range lines {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
	}
	if r.Status != Passed && r.Hint != "" {
		fmt.Fprintf(&b, "提示 (hint)：%s\n", r.Hint)
	}
	return b.String()
}

// Show prints the result in the notebook cell as plain text.
func (r Result) Show() error { return display.Text(r.String()) }

// Err returns nil when the exercise passed and an error holding the report otherwise.
func (r Result) Err() error {
	if r.Passed() {
		return nil
	}
	return fmt.Errorf("%s", r.String())
}

// Protect runs f and turns a panic into an error ("panic: …"), so a crash in the learner's
// code becomes a failed case instead of a failed cell.
func Protect(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}
