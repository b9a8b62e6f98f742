package week2

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/lessons/data"
)

// Example is one labelled text of a classification set.
type Example struct {
	Text  string `json:"text"`
	Label string `json:"label"`
}

// maxExampleFile bounds a JSONL file of examples read whole (64 MB is far beyond what a
// small classifier trains on).
const maxExampleFile = 64 << 20

// ReadExamples reads a JSONL file of {"text": …, "label": …} objects, one per line (the
// format of lessons/data/alerts, whose extra fields label_zh, kind and template are
// allowed and ignored). Blank lines are skipped. A missing file, a line that is not one
// JSON object, an empty text or label, or a file without examples is an error naming the
// file and line.
func ReadExamples(path string) ([]Example, error) {
	b, err := fileio.ReadFile(path, maxExampleFile)
	if err != nil {
		return nil, err
	}
	ex, err := ParseExamples(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}

// ParseExamples reads JSONL examples as [ReadExamples] does.
func ParseExamples(r io.Reader) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d: not UTF-8", n)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("line %d: want one JSON object {\"text\": …, \"label\": …}: %v", n, err)
		}
		var e Example
		for _, f := range []struct {
			key string
			dst *string
		}{{"text", &e.Text}, {"label", &e.Label}} {
			v, ok := raw[f.key]
			if !ok {
				return nil, fmt.Errorf("line %d: no %q field", n, f.key)
			}
			if err := json.Unmarshal(v, f.dst); err != nil {
				return nil, fmt.Errorf("line %d: %q must be a string", n, f.key)
			}
			if strings.TrimSpace(*f.dst) == "" {
				return nil, fmt.Errorf("line %d: empty %q", n, f.key)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than 1 MB", len(out)+1)
		}
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no examples")
	}
	return out, nil
}

// AlertExamples returns one split of lessons/data's alerts ("train", "val", "test",
// "hard") as examples.
func AlertExamples(split string) ([]Example, error) {
	as, err := data.Alerts(split)
	if err != nil {
		return nil, err
	}
	out := make([]Example, len(as))
	for i, a := range as {
		out[i] = Example{Text: a.Text, Label: a.Label}
	}
	return out, nil
}

// LabelOrder returns the class names of ex in their default order (class i is
// id2label[i]): when every label is one of the alert labels (lessons/data), the alerts'
// fixed order (data.AlertLabels, keeping those present); otherwise the order of first
// appearance in ex.
func LabelOrder(ex []Example) []string {
	var out []string
	seen := map[string]bool{}
	alerts := true
	for _, e := range ex {
		if !seen[e.Label] {
			seen[e.Label] = true
			out = append(out, e.Label)
			alerts = alerts && data.AlertLabelIndex(e.Label) >= 0
		}
	}
	if alerts {
		out = out[:0]
		for _, l := range data.AlertLabels() {
			if seen[l] {
				out = append(out, l)
			}
		}
	}
	return out
}

// ClassIndex maps each example's label to its index in labels; a label not in labels is
// an error naming the example ("eval line 7: label "x" is not one of the model's …").
func ClassIndex(ex []Example, labels []string, what string) ([]int, error) {
	idx := make(map[string]int, len(labels))
	for i, l := range labels {
		idx[l] = i
	}
	out := make([]int, len(ex))
	for i, e := range ex {
		k, ok := idx[e.Label]
		if !ok {
			return nil, fmt.Errorf("%s example %d: label %q is not one of the %d classes (%s)", what, i+1, e.Label, len(labels), strings.Join(labels, ", "))
		}
		out[i] = k
	}
	return out, nil
}

// Subsample keeps a fraction of the examples, the same share of every class (at least one
// per class), chosen with a seeded shuffle; the kept examples stay in their original order.
func Subsample(ex []Example, frac float64, seed uint64) []Example {
	if frac >= 1 {
		return slices.Clone(ex)
	}
	byClass := map[string][]int{}
	for i, e := range ex {
		byClass[e.Label] = append(byClass[e.Label], i)
	}
	r := rand.New(rand.NewPCG(seed, 0x5ab5))
	keep := make([]bool, len(ex))
	for _, l := range LabelOrder(ex) {
		idx := byClass[l]
		k := max(1, int(math.Round(frac*float64(len(idx)))))
		perm := r.Perm(len(idx))
		for _, p := range perm[:min(k, len(idx))] {
			keep[idx[p]] = true
		}
	}
	var out []Example
	for i, e := range ex {
		if keep[i] {
			out = append(out, e)
		}
	}
	return out
}
