package main

import (
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The generator's hand-written text (sentences, templates, names) lives in the data files
// under tables/, embedded here; the Go code keeps only the logic that combines them. All
// the files share one small format, read by parseTable:
//
//	# a comment (a line whose first non-blank character is #)
//	key: value          a scalar field, written at the start of the line
//	key:                a list field: its items follow on indented lines
//	    one item
//	    first part || second part      an item with parts (columns or alternatives)
//	== id               starts a record; the fields above the first record belong to the file
//
// Items and values are trimmed. A value or item that must keep surrounding spaces, be
// empty, or start with # or " is written as a Go string literal: "" or " x". Blank lines
// are ignored. Every error names the file and line.

//go:embed tables/*.txt
var tableFS embed.FS

// partSep separates the parts of an item (runbook step alternatives, probe columns, …).
const partSep = " || "

type tfile struct {
	name string
	head *trecord   // fields before the first record
	recs []*trecord // records in file order
}

type trecord struct {
	id     string // "" for the file head
	line   int
	fields []*tfield
}

type tfield struct {
	key   string
	line  int
	list  bool
	value string  // scalar fields
	items []titem // list fields
	used  bool
}

type titem struct {
	line int
	text string
}

func isKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// unquote returns s trimmed, or the value of the Go string literal s.
func unquote(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		return s, nil
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		return "", fmt.Errorf("bad quoted string %s (write it as a Go string literal)", s)
	}
	return v, nil
}

// parseTable reads one table file; name is used in error messages.
func parseTable(name string, src []byte) (*tfile, error) {
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("%s: not valid UTF-8", name)
	}
	f := &tfile{name: name, head: &trecord{line: 1}}
	rec := f.head
	var list *tfield // the list field that indented lines add to
	ids := map[string]int{}
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		errf := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		if strings.ContainsRune(line, '\r') {
			return nil, errf("carriage return (save the file with LF line endings)")
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(line); unicode.IsSpace(r) {
			if list == nil {
				return nil, errf("indented line %q outside a list field (start the list with `key:` on its own line)", trimmed)
			}
			text, err := unquote(trimmed)
			if err != nil {
				return nil, errf("%v", err)
			}
			list.items = append(list.items, titem{n, text})
			continue
		}
		list = nil
		if id, ok := strings.CutPrefix(line, "== "); ok {
			id = strings.TrimSpace(id)
			if id == "" {
				return nil, errf("record line `==` without an id")
			}
			if prev, dup := ids[id]; dup {
				return nil, errf("record %q already defined on line %d", id, prev)
			}
			ids[id] = n
			rec = &trecord{id: id, line: n}
			f.recs = append(f.recs, rec)
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || !isKey(key) {
			return nil, errf("want `key: value`, `key:` (a list follows), `== id` or an indented item; got %q", line)
		}
		for _, fl := range rec.fields {
			if fl.key == key {
				return nil, errf("field %q already set on line %d", key, fl.line)
			}
		}
		fl := &tfield{key: key, line: n}
		if strings.TrimSpace(value) == "" {
			fl.list = true
			list = fl
		} else {
			v, err := unquote(value)
			if err != nil {
				return nil, errf("%v", err)
			}
			fl.value = v
		}
		rec.fields = append(rec.fields, fl)
	}
	return f, nil
}

// treader decodes the fields of one table file and keeps the first error.
type treader struct {
	f   *tfile
	err error
}

// readTable parses the embedded file tables/name.
func readTable(name string) (*treader, error) {
	p := path.Join("tables", name)
	src, err := tableFS.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	f, err := parseTable(p, src)
	if err != nil {
		return nil, err
	}
	return &treader{f: f}, nil
}

func (t *treader) failf(line int, r *trecord, format string, args ...any) {
	if t.err != nil {
		return
	}
	where := ""
	if r != nil && r.id != "" {
		where = fmt.Sprintf("record %q: ", r.id)
	}
	t.err = fmt.Errorf("%s:%d: %s%s", t.f.name, line, where, fmt.Sprintf(format, args...))
}

func (t *treader) field(r *trecord, key string, list, required bool) *tfield {
	for _, fl := range r.fields {
		if fl.key == key {
			fl.used = true
			if fl.list != list {
				want := "a one-line value (`key: value`)"
				if list {
					want = "a list (`key:` and indented items)"
				}
				t.failf(fl.line, r, "field %q must be %s", key, want)
				return nil
			}
			return fl
		}
	}
	if required {
		t.failf(r.line, r, "missing field %q", key)
	}
	return nil
}

// str returns a required scalar field.
func (t *treader) str(r *trecord, key string) string {
	if fl := t.field(r, key, false, true); fl != nil {
		return fl.value
	}
	return ""
}

// words returns a required scalar field split at spaces.
func (t *treader) words(r *trecord, key string) []string {
	return strings.Fields(t.str(r, key))
}

// flag returns a required yes/no field.
func (t *treader) flag(r *trecord, key string) bool {
	fl := t.field(r, key, false, true)
	if fl == nil {
		return false
	}
	switch fl.value {
	case "yes":
		return true
	case "no":
		return false
	}
	t.failf(fl.line, r, "field %q must be yes or no, got %q", key, fl.value)
	return false
}

// list returns a required, non-empty list field.
func (t *treader) list(r *trecord, key string) []string {
	fl := t.field(r, key, true, true)
	if fl == nil {
		return nil
	}
	if len(fl.items) == 0 {
		t.failf(fl.line, r, "list %q has no items", key)
		return nil
	}
	out := make([]string, len(fl.items))
	for i, it := range fl.items {
		out[i] = it.text
	}
	return out
}

// optList returns an optional list field (nil when absent).
func (t *treader) optList(r *trecord, key string) []string {
	if fl := t.field(r, key, true, false); fl == nil {
		return nil
	}
	return t.list(r, key)
}

// alts returns a required list whose items each hold one or more parts.
func (t *treader) alts(r *trecord, key string) [][]string {
	fl := t.field(r, key, true, true)
	items := t.list(r, key)
	if fl == nil || items == nil {
		return nil
	}
	out := make([][]string, len(items))
	for i, it := range items {
		out[i] = strings.Split(it, partSep)
		for _, p := range out[i] {
			if strings.TrimSpace(p) == "" {
				t.failf(fl.items[i].line, r, "empty part in %q", it)
			}
		}
	}
	return out
}

// cols returns a required list whose items each hold exactly n parts.
func (t *treader) cols(r *trecord, key string, n int) [][]string {
	fl := t.field(r, key, true, true)
	out := t.alts(r, key)
	for i, parts := range out {
		if len(parts) != n {
			t.failf(fl.items[i].line, r, "want %d parts separated by %q, got %d", n, strings.TrimSpace(partSep), len(parts))
		}
	}
	return out
}

// done reports the first error, including fields that no code read (a typo in a key).
func (t *treader) done() error {
	if t.err != nil {
		return t.err
	}
	for _, r := range append([]*trecord{t.f.head}, t.f.recs...) {
		for _, fl := range r.fields {
			if !fl.used {
				t.failf(fl.line, r, "unknown field %q", fl.key)
				return t.err
			}
		}
	}
	return nil
}
