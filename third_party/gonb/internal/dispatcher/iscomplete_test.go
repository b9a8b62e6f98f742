package dispatcher

import "testing"

func TestIsComplete(t *testing.T) {
	for _, c := range []struct{ code, status, indent string }{
		{"", "complete", ""},
		{"fmt.Println(\"hi\")", "complete", ""},
		{"%%\nfmt.Println(1)", "complete", ""},
		{"%noautoget\nimport \"fmt\"\n%%\nfmt.Println(1)", "complete", ""},
		{"func f() int { return 1 }", "complete", ""},
		{"x := 1\nx++", "complete", ""},
		{"%args --a \\\n  --b", "complete", ""},
		{"!ls -l", "complete", ""},
		{"%%writefile x.txt\nfunc {", "complete", ""}, // a special cell, not Go
		{"// just a comment", "complete", ""},
		{"func f() {", "incomplete", "\t"},
		{"%%\nfor i := 0; i < 3; i++ {\n\tif i > 1 {", "incomplete", "\t\t"},
		{"x := []int{1,\n2,", "incomplete", "\t"},
		{"s := `raw\nstring", "incomplete", ""},
		{"/* open comment", "incomplete", ""},
		{"x := 1 +", "incomplete", ""},
		{"y := a.", "incomplete", ""},
		{"f(a,\n", "incomplete", "\t"},
		{"}", "invalid", ""},
		{"fmt.Println(\"hi\"))", "invalid", ""},
		{"x := [1)", "invalid", ""},
		{"x := \"unterminated", "invalid", ""},
		{"x := 1 @ 2", "invalid", ""},
	} {
		status, indent := IsComplete(c.code)
		if status != c.status || indent != c.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", c.code, status, indent, c.status, c.indent)
		}
	}
}
