package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if err := loadTables(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestParseTable(t *testing.T) {
	src := `# comment
names: a b  c
suffixes:
	""
	" x"
	plain   
== first
zh: 磁盘
steps:
	# a comment inside a list

	登录 || 通过跳板机登录
	df -h | sort
== second
zh: "# not a comment"
`
	f, err := parseTable("t.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tr := &treader{f: f}
	if got := tr.words(f.head, "names"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("names = %q", got)
	}
	if got := tr.list(f.head, "suffixes"); !slices.Equal(got, []string{"", " x", "plain"}) {
		t.Errorf("suffixes = %q", got)
	}
	if len(f.recs) != 2 || f.recs[0].id != "first" || f.recs[1].id != "second" || f.recs[0].line != 7 {
		t.Fatalf("records = %+v", f.recs)
	}
	if got := tr.alts(f.recs[0], "steps"); !slices.EqualFunc(got, [][]string{{"登录", "通过跳板机登录"}, {"df -h | sort"}}, slices.Equal) {
		t.Errorf("steps = %q", got)
	}
	if tr.str(f.recs[0], "zh") != "磁盘" || tr.str(f.recs[1], "zh") != "# not a comment" {
		t.Error("scalar fields read wrong")
	}
	if err := tr.done(); err != nil {
		t.Error(err)
	}
}

// Every malformed file is rejected with its file name and the line of the problem.
func TestParseTableErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"\titem\n", "t.txt:1: indented line"},
		{"a: 1\nnot a field\n", "t.txt:2: want `key: value`"},
		{"Key: 1\n", "t.txt:1: want `key: value`"},
		{"a: 1\na: 2\n", "t.txt:2: field \"a\" already set on line 1"},
		{"== x\n== x\n", "t.txt:2: record \"x\" already defined on line 1"},
		{"==  \n", "t.txt:1: record line"},
		{"a:\n\t\"unterminated\n", "t.txt:2: bad quoted string"},
		{"a: 1\r\n", "t.txt:1: carriage return"},
		{"a: \xff\n", "t.txt: not valid UTF-8"},
	} {
		_, err := parseTable("t.txt", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseTable(%q) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

// Decoding errors name the line and the record: missing, unknown or misshapen fields.
func TestTableReaderErrors(t *testing.T) {
	for _, c := range []struct {
		src, want string
		read      func(tr *treader)
	}{
		{"== k\nzh: x\n", `t.txt:1: record "k": missing field "title"`, func(tr *treader) { tr.str(tr.f.recs[0], "title") }},
		{"== k\nzh: x\ntitel: y\n", `t.txt:3: record "k": unknown field "titel"`, func(tr *treader) { tr.str(tr.f.recs[0], "zh") }},
		{"a: x\n", `t.txt:1: field "a" must be a list`, func(tr *treader) { tr.list(tr.f.head, "a") }},
		{"a:\n\tx\n", `t.txt:1: field "a" must be a one-line value`, func(tr *treader) { tr.str(tr.f.head, "a") }},
		{"a:\n", `t.txt:1: list "a" has no items`, func(tr *treader) { tr.list(tr.f.head, "a") }},
		{"a:\n\tx || y\n\tz\n", `t.txt:3: want 2 parts`, func(tr *treader) { tr.cols(tr.f.head, "a", 2) }},
		{"a:\n\tx ||  || y\n", `t.txt:2: empty part`, func(tr *treader) { tr.alts(tr.f.head, "a") }},
		{"== k\nshop: maybe\n", `t.txt:2: record "k": field "shop" must be yes or no`, func(tr *treader) { tr.flag(tr.f.recs[0], "shop") }},
	} {
		f, err := parseTable("t.txt", []byte(c.src))
		if err != nil {
			t.Fatalf("parseTable(%q): %v", c.src, err)
		}
		tr := &treader{f: f}
		c.read(tr)
		err = tr.done()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("reading %q: error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

// The embedded tables hold what the generator was written with: sizes and a few
// entries checked against known values.
func TestTablesLoaded(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"topics", len(topics), 68}, {"places", len(places), 25}, {"everyday sentences", len(everydaySentences), 314},
		{"qa pairs", len(qaPairs), 35}, {"probes", len(mlmProbes()), 68}, {"host roles", len(hostRoles), 9},
		{"ops kinds", len(opsKinds), 16}, {"alert classes", len(alertClasses), 8}, {"alert suffixes", len(alertSuffixes), 8},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if s := opsKinds[0].steps[1]; opsKinds[0].key != "disk" || len(s) != 2 || s[1] != "用 df -h 查看各分区的使用情况，确认告警的是 {M}" {
		t.Errorf("first ops kind %q, its second step %q", opsKinds[0].key, s)
	}
	if alertSuffixes[0] != "" || alertSuffixes[3] != "，请尽快处理" {
		t.Errorf("alert suffixes %q", alertSuffixes)
	}
	if p := places[1]; p.name != "银行" || p.shop || p.acts[0] != "取钱" {
		t.Errorf("second place %+v", p)
	}
	if tp := topics[len(topics)-1]; tp.name != "束搜索" || tp.domain != "自然语言处理" {
		t.Errorf("last topic %q in %q", tp.name, tp.domain)
	}
	if p := mlmProbes()[9]; p.text != "我下午去银行[MASK]钱" || !slices.Equal(p.answers, []string{"取", "存"}) {
		t.Errorf("probe 10 = %+v", p)
	}
}
