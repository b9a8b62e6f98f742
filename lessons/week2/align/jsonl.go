package align

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/divellm/divellm/lessons/data"
)

// line is one JSONL record of SFT or DPO data, in either accepted form.
type line struct {
	Question *string `json:"question"`
	Prompt   *string `json:"prompt"`
	Answer   *string `json:"answer"`
	Chosen   *string `json:"chosen"`
	Rejected *string `json:"rejected"`
}

// prompt returns the line's prompt: "prompt" as given, or "question" wrapped as
// 问：question答：.
func (l line) prompt() (string, error) {
	switch {
	case l.Question != nil && l.Prompt != nil:
		return "", errors.New(`give "question" or "prompt", not both`)
	case l.Prompt != nil:
		if strings.TrimSpace(*l.Prompt) == "" {
			return "", errors.New(`empty "prompt"`)
		}
		return *l.Prompt, nil
	case l.Question != nil:
		if strings.TrimSpace(*l.Question) == "" {
			return "", errors.New(`empty "question"`)
		}
		return data.QuestionPrefix + *l.Question + data.AnswerPrefix, nil
	}
	return "", errors.New(`missing "question" (or "prompt")`)
}

func field(v *string, name string) (string, error) {
	if v == nil {
		return "", fmt.Errorf("missing %q", name)
	}
	if strings.TrimSpace(*v) == "" {
		return "", fmt.Errorf("empty %q", name)
	}
	return *v, nil
}

// readLines decodes every non-blank line of r as a JSON object and hands it to f.
func readLines(r io.Reader, f func(l line) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n, no := 0, 1
	for ; sc.Scan(); no++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l line
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("line %d: not a JSON object: %v", no, err)
		}
		if dec.More() {
			return fmt.Errorf("line %d: more than one JSON value", no)
		}
		if err := f(l); err != nil {
			return fmt.Errorf("line %d: %w", no, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d is longer than 1 MB", no)
		}
		return err
	}
	if n == 0 {
		return errors.New("no examples (the file is empty)")
	}
	return nil
}

// ReadExamples reads SFT JSONL: one object per line with "answer" and either "question"
// (wrapped as 问：question答：) or "prompt" (used as is). Other fields (id, kind, …, as in
// lessons/data/sft) are ignored; blank lines are skipped.
func ReadExamples(r io.Reader) ([]Example, error) {
	var out []Example
	err := readLines(r, func(l line) error {
		p, err := l.prompt()
		if err != nil {
			return err
		}
		a, err := field(l.Answer, "answer")
		if err != nil {
			return err
		}
		out = append(out, Example{Prompt: p, Answer: a})
		return nil
	})
	return out, err
}

// ReadPairs reads DPO JSONL: one object per line with "chosen", "rejected" and either
// "prompt" or "question" (as lessons/data/dpo). Other fields are ignored.
func ReadPairs(r io.Reader) ([]Pair, error) {
	var out []Pair
	err := readLines(r, func(l line) error {
		p, err := l.prompt()
		if err != nil {
			return err
		}
		c, err := field(l.Chosen, "chosen")
		if err != nil {
			return err
		}
		rj, err := field(l.Rejected, "rejected")
		if err != nil {
			return err
		}
		if c == rj {
			return errors.New(`"rejected" equals "chosen"`)
		}
		out = append(out, Pair{Prompt: p, Chosen: c, Rejected: rj})
		return nil
	})
	return out, err
}

// ReadExamplesFile is ReadExamples on a file; errors name the file.
func ReadExamplesFile(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	es, err := ReadExamples(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

// ReadPairsFile is ReadPairs on a file; errors name the file.
func ReadPairsFile(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := ReadPairs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}
