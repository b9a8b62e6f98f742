package data

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// The SFT and DPO data are written 问：question答：answer, the corpus's Q&A format.
const (
	QuestionPrefix = "问："
	AnswerPrefix   = "答："
)

// SFTMaxRunes bounds QuestionPrefix+question+AnswerPrefix+answer (and the same with a
// rejected answer) in the SFT and DPO data: gpt-tiny-zh has 128 positions.
const SFTMaxRunes = 110

// SFTSplits are the splits of the SFT and DPO data: "train" and "test" (held out).
var SFTSplits = []string{"train", "test"}

// SFTExample is one supervised fine-tuning pair. Kind is the ops alert kind (disk, cpu,
// dbconn, …; "general" for the corpus's hand-written pairs), Intent what the question
// asks (handle, cause, first, restart, prevent; "handwritten"), and Holdout, in the test
// split only, how the question is held out: "phrasing" (a phrasing no training question
// uses) or "names" (hosts, services, domains or topics no training question names).
type SFTExample struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Kind     string `json:"kind"`
	Intent   string `json:"intent"`
	Holdout  string `json:"holdout,omitempty"`
}

// Prompt is the text the model is given: 问：question答：.
func (e SFTExample) Prompt() string { return QuestionPrefix + e.Question + AnswerPrefix }

// Text is the whole training line, Prompt followed by the answer; the SFT loss is taken
// on the answer's tokens only.
func (e SFTExample) Text() string { return e.Prompt() + e.Answer }

// PreferencePair is one DPO example: for the same question, a Chosen (good) answer and
// a Rejected (poor) one. RejectedKind says how the rejected answer is poor: "wrong"
// (the answer for another kind of alert), "vague", "unsafe" (a reckless action such as
// 直接重启生产数据库) or "off_topic".
type PreferencePair struct {
	ID           string `json:"id"`
	Question     string `json:"question"`
	Chosen       string `json:"chosen"`
	Rejected     string `json:"rejected"`
	RejectedKind string `json:"rejected_kind"`
	Kind         string `json:"kind"`
	Intent       string `json:"intent"`
	Holdout      string `json:"holdout,omitempty"`
}

// Prompt is the text both answers continue: 问：question答：.
func (p PreferencePair) Prompt() string { return QuestionPrefix + p.Question + AnswerPrefix }

var rejectedKinds = []string{"wrong", "vague", "unsafe", "off_topic"}

// checkQA checks a question and its answers: non-empty, and each line within SFTMaxRunes.
func checkQA(question string, answers ...string) error {
	if strings.TrimSpace(question) == "" {
		return errors.New("empty question")
	}
	for _, a := range answers {
		if strings.TrimSpace(a) == "" {
			return errors.New("empty answer")
		}
		if n := utf8.RuneCountInString(QuestionPrefix + question + AnswerPrefix + a); n > SFTMaxRunes {
			return fmt.Errorf("问：…答：… is %d characters, want ≤ %d", n, SFTMaxRunes)
		}
	}
	return nil
}

// ParseSFT reads SFT JSONL lines {"id","question","answer","kind","intent"[,"holdout"]}.
// Unknown fields, empty fields and lines longer than SFTMaxRunes are errors.
func ParseSFT(r io.Reader) ([]SFTExample, error) {
	return parseJSONL(r, "sft", func(e *SFTExample) error {
		if e.ID == "" || e.Kind == "" || e.Intent == "" {
			return errors.New("id, kind and intent must be set")
		}
		if e.Holdout != "" && e.Holdout != "phrasing" && e.Holdout != "names" {
			return fmt.Errorf("unknown holdout %q (want phrasing or names)", e.Holdout)
		}
		return checkQA(e.Question, e.Answer)
	})
}

// ParseDPO reads DPO JSONL lines {"id","question","chosen","rejected","rejected_kind",
// "kind","intent"[,"holdout"]}. Unknown fields, a rejected answer equal to the chosen
// one, an unknown rejected_kind and lines longer than SFTMaxRunes are errors.
func ParseDPO(r io.Reader) ([]PreferencePair, error) {
	return parseJSONL(r, "dpo", func(p *PreferencePair) error {
		if p.ID == "" || p.Kind == "" || p.Intent == "" {
			return errors.New("id, kind and intent must be set")
		}
		if !slices.Contains(rejectedKinds, p.RejectedKind) {
			return fmt.Errorf("unknown rejected_kind %q (want one of %s)", p.RejectedKind, strings.Join(rejectedKinds, ", "))
		}
		if p.Chosen == p.Rejected {
			return errors.New("rejected answer equals the chosen one")
		}
		return checkQA(p.Question, p.Chosen, p.Rejected)
	})
}

// SFT returns one split ("train" or "test") of the SFT data: ops questions whose
// answers are short and formulaic. No test question appears in training or the corpus.
func SFT(split string) ([]SFTExample, error) { return loadSplit("sft", split, SFTSplits, ParseSFT) }

// DPO returns one split ("train" or "test") of the preference pairs; the test pairs'
// questions are the SFT test questions.
func DPO(split string) ([]PreferencePair, error) {
	return loadSplit("dpo", split, SFTSplits, ParseDPO)
}
