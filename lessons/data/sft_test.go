package data

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSFTSplits(t *testing.T) {
	train, err := SFT("train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := SFT("test")
	if err != nil {
		t.Fatal(err)
	}
	if len(train) < 300 || len(test) < 40 {
		t.Fatalf("SFT has %d train and %d test pairs, want ≥ 300 and ≥ 40", len(train), len(test))
	}
	corpusTrain, corpusVal := Corpus()
	inTrain := map[string]bool{}
	ids := map[string]bool{}
	for _, e := range train {
		inTrain[e.Question] = true
		if e.Holdout != "" {
			t.Errorf("training pair with holdout %q: %s", e.Holdout, e.Question)
		}
	}
	holdouts := map[string]int{}
	for _, split := range [][]SFTExample{train, test} {
		for _, e := range split {
			if ids[e.ID] {
				t.Errorf("duplicate id %s", e.ID)
			}
			ids[e.ID] = true
			if got := e.Text(); got != "问："+e.Question+"答："+e.Answer || !strings.HasPrefix(got, e.Prompt()) {
				t.Errorf("Text() = %q", got)
			}
			if n := utf8.RuneCountInString(e.Text()); n > 110 {
				t.Errorf("%s: %d characters, want ≤ 110", e.ID, n)
			}
		}
	}
	for _, e := range test {
		holdouts[e.Holdout]++
		if inTrain[e.Question] {
			t.Errorf("test question also in train: %s", e.Question)
		}
		if strings.Contains(corpusTrain, e.Question) || strings.Contains(corpusVal, e.Question) {
			t.Errorf("test question in the corpus: %s", e.Question)
		}
	}
	if holdouts["phrasing"] < 20 || holdouts["names"] < 20 {
		t.Errorf("test holdouts %v, want ≥ 20 of each", holdouts)
	}
	if _, err := SFT("val"); err == nil {
		t.Error(`SFT("val") returned no error`)
	}
}

func TestDPOSplits(t *testing.T) {
	answers := map[string]string{}
	sftSplit := map[string]string{}
	for _, s := range SFTSplits {
		es, err := SFT(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			answers[e.Question] = e.Answer
			sftSplit[e.Question] = s
		}
	}
	for _, s := range SFTSplits {
		ps, err := DPO(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"train": 150, "test": 30}[s]; len(ps) < want {
			t.Errorf("DPO %s has %d pairs, want ≥ %d", s, len(ps), want)
		}
		kinds := map[string]int{}
		for _, p := range ps {
			kinds[p.RejectedKind]++
			if answers[p.Question] != p.Chosen {
				t.Errorf("chosen answer %q is not the SFT answer to %s", p.Chosen, p.Question)
			}
			if sftSplit[p.Question] != s {
				t.Errorf("DPO %s question comes from SFT %s: %s", s, sftSplit[p.Question], p.Question)
			}
			if p.Prompt() != "问："+p.Question+"答：" {
				t.Errorf("Prompt() = %q", p.Prompt())
			}
		}
		for _, k := range []string{"wrong", "vague", "unsafe", "off_topic"} {
			if kinds[k] == 0 {
				t.Errorf("DPO %s has no %s rejection", s, k)
			}
		}
	}
}

func TestParseSFTAndDPORejectMalformed(t *testing.T) {
	long := strings.Repeat("长", 106) // 问：q答： + 106 = 111 characters
	for _, bad := range []string{
		"",
		`{"id":"a","question":"","answer":"b","kind":"disk","intent":"handle"}`,
		`{"id":"a","question":"q","answer":"` + long + `","kind":"disk","intent":"handle"}`,
		`{"id":"a","question":"q","answer":"b","kind":"disk","intent":"handle","holdout":"x"}`,
		`{"id":"a","question":"q","answer":"b","kind":"disk","intent":"handle","extra":1}`,
		`{"question":"q","answer":"b","kind":"disk","intent":"handle"}`,
	} {
		if _, err := ParseSFT(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("ParseSFT accepted %q", bad)
		}
	}
	good := `{"id":"a","question":"q","chosen":"c","rejected":"r","rejected_kind":"vague","kind":"disk","intent":"handle"}`
	if ps, err := ParseDPO(strings.NewReader(good + "\n")); err != nil || len(ps) != 1 || ps[0].Rejected != "r" {
		t.Fatalf("ParseDPO(good) = %v, %v", ps, err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"rejected":"r"`, `"rejected":"c"`, 1),
		strings.Replace(good, `"vague"`, `"rude"`, 1),
		strings.Replace(good, `"rejected":"r"`, `"rejected":"`+long+`"`, 1),
	} {
		if _, err := ParseDPO(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("ParseDPO accepted %q", bad)
		}
	}
}
