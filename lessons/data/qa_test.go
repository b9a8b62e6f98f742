package data

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Every answer is the context's substring at its character offset, checked here
// independently of ParseQA; sizes and the 125-character budget hold.
func TestQASplits(t *testing.T) {
	want := map[string]int{"train": 3000, "val": 300, "test": 300, "long": 20}
	contexts := map[string]map[string]bool{}
	for _, split := range QASplits {
		es, err := QA(split)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) < want[split] {
			t.Errorf("qa %s: %d records, want ≥ %d", split, len(es), want[split])
		}
		contexts[split] = map[string]bool{}
		fit := 0
		for _, e := range es {
			contexts[split][e.Context] = true
			for i, text := range e.Answers.Text {
				start := e.Answers.AnswerStart[i]
				prefix := string([]rune(e.Context)[:start])
				if !strings.HasPrefix(e.Context[len(prefix):], text) {
					t.Errorf("%s: %q is not at character %d of %q", e.ID, text, start, e.Context)
				}
				if s, end := e.Span(i); end-s != utf8.RuneCountInString(text) {
					t.Errorf("%s: Span(%d) = %d, %d", e.ID, i, s, end)
				}
			}
			if utf8.RuneCountInString(e.Question)+utf8.RuneCountInString(e.Context) <= QAMaxRunes {
				fit++
			}
			if n := utf8.RuneCountInString(e.Context); split == "long" && (n < 200 || n > 600) {
				t.Errorf("%s: long context of %d characters, want 200–600", e.ID, n)
			}
		}
		if split != "long" && fit*100 < 95*len(es) {
			t.Errorf("qa %s: %d of %d fit %d characters, want ≥ 95%%", split, fit, len(es), QAMaxRunes)
		}
	}
	for _, split := range []string{"val", "test", "long"} {
		for c := range contexts[split] {
			if contexts["train"][c] {
				t.Errorf("%s context also in train: %s", split, c)
			}
		}
	}
}

// The study plan's example is in the held-out test split; no training question uses
// its phrasing.
func TestQAStudyPlanExample(t *testing.T) {
	test, err := QA("test")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range test {
		if e.Question == "磁盘已满会导致什么?" && e.Answers.Text[0] == "系统无法写入文件" && strings.Contains(e.Context, "系统无法写入文件，进程挂起") {
			found = true
		}
	}
	if !found {
		t.Error("qa test lacks 磁盘已满会导致什么? → 系统无法写入文件")
	}
	train, err := QA("train")
	if err != nil {
		t.Fatal(err)
	}
	questions := map[string]bool{}
	for _, e := range train {
		questions[e.Question] = true
		if strings.Contains(e.Question, "会导致什么") {
			t.Errorf("training question with the study plan's phrasing: %s", e.Question)
		}
	}
	for _, e := range test {
		if questions[e.Question] {
			t.Errorf("test question also in train: %s", e.Question)
		}
	}
}

func TestParseQARejectsMalformed(t *testing.T) {
	good := `{"id":"a","context":"磁盘已满时，系统无法写入文件","question":"会怎样？","answers":{"text":["系统无法写入文件"],"answer_start":[6]}}`
	if es, err := ParseQA(strings.NewReader(good + "\n")); err != nil || len(es) != 1 {
		t.Fatalf("ParseQA(good) = %v, %v", es, err)
	}
	for _, bad := range []string{
		strings.Replace(good, `[6]`, `[7]`, 1),  // off by one character
		strings.Replace(good, `[6]`, `[18]`, 1), // the byte offset, not the character offset
		strings.Replace(good, `[6]`, `[6,7]`, 1),
		strings.Replace(good, `[6]`, `[30]`, 1),
		strings.Replace(good, `"question":"会怎样？"`, `"question":""`, 1),
		strings.Replace(good, `"id":"a"`, `"id":"a","title":"x"`, 1),
	} {
		if _, err := ParseQA(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("ParseQA accepted %s", bad)
		}
	}
}
