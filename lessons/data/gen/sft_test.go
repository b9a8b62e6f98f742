package main

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSFTSizesAndLengths(t *testing.T) {
	d := mustBuild(t)
	if len(d.sftTrain) < 300 || len(d.sftTest) < 40 {
		t.Errorf("sft: %d train, %d test, want ≥ 300 and ≥ 40", len(d.sftTrain), len(d.sftTest))
	}
	if len(d.dpoTrain) < 150 || len(d.dpoTest) < 30 {
		t.Errorf("dpo: %d train, %d test, want ≥ 150 and ≥ 30", len(d.dpoTrain), len(d.dpoTest))
	}
	for _, it := range append(append([]sftItem(nil), d.sftTrain...), d.sftTest...) {
		if n := utf8.RuneCountInString("问：" + it.question + "答：" + it.answer); n > sftMaxRunes {
			t.Errorf("sft line of %d characters: %s", n, it.question)
		}
	}
	for _, p := range append(append([]dpoItem(nil), d.dpoTrain...), d.dpoTest...) {
		for _, a := range []string{p.chosen, p.rejected} {
			if n := utf8.RuneCountInString("问：" + p.question + "答：" + a); n > sftMaxRunes {
				t.Errorf("dpo line of %d characters: %s %s", n, p.question, a)
			}
		}
	}
}

// Test questions appear neither in SFT training nor anywhere in the corpus; the test
// phrasings are never used in training, and a "names" question names a held-out host,
// service, domain or topic.
func TestSFTHeldOut(t *testing.T) {
	d := mustBuild(t)
	corpus := string(d.files["corpus/train.txt"]) + string(d.files["corpus/val.txt"])
	train := map[string]bool{}
	for _, it := range d.sftTrain {
		train[it.question] = true
		if it.intent != "handwritten" && strings.Contains(corpus, it.question) {
			t.Errorf("templated training question is in the corpus: %s", it.question)
		}
	}
	suffix := func(phrasing string) string { return strings.TrimPrefix(phrasing, "{A}") }
	for _, in := range sftIntents {
		for _, ph := range sftTestQ[in] {
			for q := range train {
				if strings.HasSuffix(q, suffix(ph)) {
					t.Errorf("held-out phrasing %q used in training: %s", ph, q)
				}
			}
		}
	}
	heldName := regexp.MustCompile(`-(5\d|[6-9]\d)\b|` + strings.Join(append(append(append([]string{}, sftTestServices...), sftTestDomains...), sftTestTopics...), "|"))
	kinds := map[string]int{}
	for _, it := range d.sftTest {
		kinds[it.kind+"/"+it.intent]++
		if train[it.question] {
			t.Errorf("test question also in training: %s", it.question)
		}
		if strings.Contains(corpus, it.question) {
			t.Errorf("test question in the corpus: %s", it.question)
		}
		switch it.holdout {
		case "names":
			if !heldName.MatchString(it.question) {
				t.Errorf("names question without a held-out name: %s", it.question)
			}
		case "phrasing":
			ok := false
			for _, ph := range sftTestQ[it.intent] {
				ok = ok || strings.HasSuffix(it.question, suffix(ph))
			}
			if !ok {
				t.Errorf("phrasing question without a held-out phrasing: %s", it.question)
			}
		default:
			t.Errorf("test question with holdout %q: %s", it.holdout, it.question)
		}
	}
	if len(kinds) != len(sftKinds)*len(sftIntents) {
		t.Errorf("test covers %d kind/intent pairs, want %d", len(kinds), len(sftKinds)*len(sftIntents))
	}
}

// The answers are formulaic: one answer per kind and intent, in train and test alike.
func TestSFTOneAnswerPerKindAndIntent(t *testing.T) {
	d := mustBuild(t)
	answer := map[string]string{}
	for _, it := range append(append([]sftItem(nil), d.sftTrain...), d.sftTest...) {
		if it.intent == "handwritten" {
			continue
		}
		key := it.kind + "/" + it.intent
		if a, ok := answer[key]; ok && a != it.answer {
			t.Errorf("%s has two answers: %q and %q", key, a, it.answer)
		}
		answer[key] = it.answer
	}
}

// A preference pair's chosen answer is the SFT answer to its question; the rejected one
// differs and is poor in the way its rejected_kind says.
func TestDPOPairs(t *testing.T) {
	d := mustBuild(t)
	sft := map[string]sftItem{}
	for _, it := range append(append([]sftItem(nil), d.sftTrain...), d.sftTest...) {
		sft[it.question] = it
	}
	testQ := map[string]bool{}
	for _, it := range d.sftTest {
		testQ[it.question] = true
	}
	byKey := map[string]sftKind{}
	for _, k := range sftKinds {
		byKey[k.key] = k
	}
	for split, pairs := range map[string][]dpoItem{"train": d.dpoTrain, "test": d.dpoTest} {
		counts := map[string]int{}
		for _, p := range pairs {
			counts[p.rejectedKind]++
			it, ok := sft[p.question]
			if !ok || it.answer != p.chosen {
				t.Errorf("%s pair's chosen answer is not the SFT answer: %s", split, p.question)
			}
			if testQ[p.question] != (split == "test") {
				t.Errorf("%s pair's question is from the other SFT split: %s", split, p.question)
			}
			if p.rejected == p.chosen {
				t.Errorf("rejected equals chosen: %s", p.question)
			}
			switch p.rejectedKind {
			case "unsafe":
				if p.rejected != byKey[p.kind].unsafe {
					t.Errorf("unsafe rejection %q is not the kind's unsafe answer", p.rejected)
				}
			case "wrong":
				found := false
				for _, k := range sftKinds {
					found = found || k.key != p.kind && k.answers[p.intent] == p.rejected
				}
				if !found {
					t.Errorf("wrong rejection %q is not another kind's %s answer", p.rejected, p.intent)
				}
			}
		}
		for _, rk := range dpoRejectedKinds {
			if counts[rk]*10 < len(pairs) {
				t.Errorf("%s: %d of %d rejections are %s, want ≥ 10%%", split, counts[rk], len(pairs), rk)
			}
		}
	}
}

// gpt-tiny-zh's vocabulary is the corpus's characters: SFT and DPO use no other.
func TestSFTCharactersInCorpus(t *testing.T) {
	d := mustBuild(t)
	texts := []string{"问：答："}
	for _, it := range append(append([]sftItem(nil), d.sftTrain...), d.sftTest...) {
		texts = append(texts, it.question, it.answer)
	}
	for _, p := range append(append([]dpoItem(nil), d.dpoTrain...), d.dpoTest...) {
		texts = append(texts, p.question, p.chosen, p.rejected)
	}
	checkCorpusChars(t, d, "sft/dpo", texts)
}
