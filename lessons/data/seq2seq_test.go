package data

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSeq2Seq(t *testing.T) {
	for _, task := range Seq2SeqTasks {
		train, err := Seq2Seq(task, "train")
		if err != nil {
			t.Fatal(err)
		}
		test, err := Seq2Seq(task, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(train) < 2000 || len(test) < 200 {
			t.Errorf("%s: %d train and %d test pairs, want ≥ 2000 and ≥ 200", task, len(train), len(test))
		}
		sources, hosts := map[string]bool{}, map[string]bool{}
		for _, p := range train {
			sources[p.Source] = true
			hosts[strings.Fields(p.Target)[0]] = true
		}
		for _, p := range append(slices.Clone(train), test...) {
			if utf8.RuneCountInString(p.Source) > 48 || utf8.RuneCountInString(p.Target) > 20 {
				t.Errorf("%s: %q → %q is too long", task, p.Source, p.Target)
			}
		}
		for _, p := range test {
			if sources[p.Source] {
				t.Errorf("%s test source in train: %s", task, p.Source)
			}
			if h := strings.Fields(p.Target)[0]; task == "alerts" && (hosts[h] || !strings.Contains(p.Source, " "+h+" ")) {
				t.Errorf("alerts test host %s is a training host or not copied from %q", h, p.Source)
			}
		}
		chars, trainChars := Seq2SeqChars(train, test), Seq2SeqChars(train)
		if !slices.Equal(chars, trainChars) {
			t.Errorf("%s: the test split uses characters training never shows", task)
		}
		if len(chars) > 80 || !slices.IsSorted(chars) {
			t.Errorf("%s: %d characters (want ≤ 80, sorted)", task, len(chars))
		}
	}
	if _, err := Seq2Seq("alerts", "val"); err == nil {
		t.Error(`Seq2Seq("alerts", "val") returned no error`)
	}
	if _, err := Seq2Seq("poems", "train"); err == nil {
		t.Error(`Seq2Seq("poems", "train") returned no error`)
	}
	if got := string(Seq2SeqChars([]Seq2SeqPair{{Source: "ba", Target: "ca"}})); got != "abc" {
		t.Errorf("Seq2SeqChars = %q, want abc", got)
	}
	for _, bad := range []string{
		`{"id":"a","source":"","target":"b"}`,
		`{"id":"a","source":"` + strings.Repeat("x", 49) + `","target":"b"}`,
		`{"id":"a","source":"a","target":"` + strings.Repeat("x", 21) + `"}`,
	} {
		if _, err := ParseSeq2Seq(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("ParseSeq2Seq accepted %s", bad)
		}
	}
}
