package main

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQASizesOffsetsAndFit(t *testing.T) {
	d := mustBuild(t)
	want := map[string]int{"train": 3000, "val": 300, "test": 300, "long": 20}
	for split, min := range want {
		items := d.qa[split]
		if len(items) < min {
			t.Errorf("qa %s: %d questions, want ≥ %d", split, len(items), min)
		}
		fit := 0
		for _, it := range items {
			r := []rune(it.context)
			n := utf8.RuneCountInString(it.answer)
			if it.start < 0 || it.start+n > len(r) || string(r[it.start:it.start+n]) != it.answer {
				t.Errorf("qa %s: answer %q is not at rune %d of %q", split, it.answer, it.start, it.context)
			}
			if utf8.RuneCountInString(it.question+it.context) <= qaMaxRunes {
				fit++
			}
			if split == "long" {
				if l := len(r); l < 200 || l > 600 {
					t.Errorf("long context of %d characters, want 200–600", l)
				}
			}
		}
		if split != "long" && fit*100 < 95*len(items) {
			t.Errorf("qa %s: %d of %d question+context fit %d characters, want ≥ 95%%", split, fit, len(items), qaMaxRunes)
		}
	}
	beyond := 0
	for _, it := range d.qa["long"] {
		if it.start+utf8.RuneCountInString(it.answer) > qaMaxRunes {
			beyond++
		}
	}
	if beyond*2 < len(d.qa["long"]) {
		t.Errorf("only %d of %d long answers end beyond the first window", beyond, len(d.qa["long"]))
	}
}

// phrasingRE matches the questions a phrasing template produces.
func phrasingRE(ph string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(padLatin(ph)), `\{C\}`, ".+") + "$")
}

// qaMask is a context with its names and numbers replaced, so that two contexts from
// the same template with different names compare equal.
func qaMask(s string) string {
	s = regexp.MustCompile(`[A-Za-z0-9]+(-[A-Za-z0-9]+)+`).ReplaceAllString(s, "H")
	s = regexp.MustCompile(`[0-9]+`).ReplaceAllString(s, "0")
	for _, n := range oncallNames {
		s = strings.ReplaceAll(s, n, "N")
	}
	return s
}

// No test context or question phrasing occurs in training, not even with other names;
// val contexts are new too.
func TestQAHeldOut(t *testing.T) {
	d := mustBuild(t)
	trainCtx, trainMasked, trainQ := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, it := range d.qa["train"] {
		trainCtx[it.context] = true
		trainMasked[qaMask(it.context)] = true
		trainQ[it.question] = true
	}
	var trainREs []*regexp.Regexp
	for _, qt := range qaQuestionTypes {
		for _, ph := range qt.phrasings.train {
			trainREs = append(trainREs, phrasingRE(ph))
		}
	}
	for _, it := range d.qa["val"] {
		if trainCtx[it.context] {
			t.Errorf("val context in train: %s", it.context)
		}
	}
	for _, it := range d.qa["test"] {
		if trainCtx[it.context] || trainMasked[qaMask(it.context)] {
			t.Errorf("test context (or its template) in train: %s", it.context)
		}
		if trainQ[it.question] {
			t.Errorf("test question in train: %s", it.question)
		}
		for _, re := range trainREs {
			if re.MatchString(it.question) {
				t.Errorf("test question %q has the training phrasing %s", it.question, re)
			}
		}
	}
	// The check catches a training phrasing.
	if q := d.qa["train"][0].question; !slicesAny(trainREs, func(re *regexp.Regexp) bool { return re.MatchString(q) }) {
		t.Errorf("no training phrasing matches the training question %q", q)
	}
}

func slicesAny[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// The study plan's example is a test item, and its phrasing is not a training one.
func TestQAStudyPlanExample(t *testing.T) {
	d := mustBuild(t)
	found := false
	for _, it := range d.qa["test"] {
		if it.question == "磁盘已满会导致什么?" && it.answer == "系统无法写入文件" && strings.Contains(it.context, "系统无法写入文件，进程挂起") {
			found = true
		}
	}
	if !found {
		t.Error("the test split lacks 磁盘已满会导致什么? → 系统无法写入文件")
	}
	for _, it := range d.qa["train"] {
		if strings.Contains(it.question, "会导致什么") {
			t.Errorf("training question with the study plan's phrasing: %s", it.question)
		}
	}
}

// bert-tiny-zh's vocabulary is the corpus's characters; only the study plan's question
// brings one more, its ASCII question mark.
func TestQACharactersInCorpus(t *testing.T) {
	d := mustBuild(t)
	var texts []string
	for _, items := range d.qa {
		for _, it := range items {
			texts = append(texts, it.context, strings.TrimSuffix(it.question, "?"))
		}
	}
	checkCorpusChars(t, d, "qa", texts)
}
