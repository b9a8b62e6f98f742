package data

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// QASplits are the splits of the extractive question-answering data: "train", "val"
// (new contexts of the training forms), "test" (held-out context templates, question
// phrasings and names, plus the study plan's 磁盘已满会导致什么?) and "long" (contexts of
// 200–600 characters, for reading a long context in windows with a stride).
var QASplits = []string{"train", "val", "test", "long"}

// QAMaxRunes is the budget of question+context in the train, val and test splits:
// [CLS] question [SEP] context [SEP] fits a 128-position character-level BERT.
const QAMaxRunes = 125

// QAExample is one SQuAD-style record: a context, a question, and its answers, each an
// exact substring of the context. AnswerStart counts characters (runes), not bytes.
type QAExample struct {
	ID       string    `json:"id"`
	Context  string    `json:"context"`
	Question string    `json:"question"`
	Answers  QAAnswers `json:"answers"`
}

// QAAnswers holds parallel lists, as in SQuAD: Text[i] starts at rune AnswerStart[i]
// of the context.
type QAAnswers struct {
	Text        []string `json:"text"`
	AnswerStart []int    `json:"answer_start"`
}

// Span returns the rune span [start, end) of the i-th answer in Context; i must be an
// index of Answers.Text (every parsed record has at least one answer).
func (e QAExample) Span(i int) (start, end int) {
	start = e.Answers.AnswerStart[i]
	return start, start + utf8.RuneCountInString(e.Answers.Text[i])
}

// checkQAExample checks that every answer is where its start says.
func checkQAExample(e *QAExample) error {
	if e.ID == "" || strings.TrimSpace(e.Context) == "" || strings.TrimSpace(e.Question) == "" {
		return errors.New("id, context and question must be set")
	}
	a := e.Answers
	if len(a.Text) == 0 || len(a.Text) != len(a.AnswerStart) {
		return fmt.Errorf("answers: %d texts and %d starts, want the same number ≥ 1", len(a.Text), len(a.AnswerStart))
	}
	ctx := []rune(e.Context)
	for i, text := range a.Text {
		start, end := e.Span(i)
		if text == "" || start < 0 || end > len(ctx) || string(ctx[start:end]) != text {
			return fmt.Errorf("answer %q is not at character %d of the context", text, start)
		}
	}
	return nil
}

// ParseQA reads SQuAD-style JSONL records {"id","context","question","answers":{"text":[…],
// "answer_start":[…]}}. Unknown fields, empty fields and an answer that is not at its
// character offset are errors that name the line.
func ParseQA(r io.Reader) ([]QAExample, error) { return parseJSONL(r, "qa", checkQAExample) }

// QA returns one split of the extractive question-answering data (see QASplits).
func QA(split string) ([]QAExample, error) { return loadSplit("qa", split, QASplits, ParseQA) }
