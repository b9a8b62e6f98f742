package data

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed corpus probes alerts sft dpo qa seq2seq
var files embed.FS

func embedded(name string) string {
	b, err := files.ReadFile(name)
	if err != nil { // unreachable: every name read is listed in the go:embed line above
		return ""
	}
	return string(b)
}

// loadSplit parses the embedded file dir/split.jsonl after checking that split is one
// of splits; errors name the file and say which splits exist.
func loadSplit[T any](dir, split string, splits []string, parse func(io.Reader) ([]T, error)) ([]T, error) {
	if !slices.Contains(splits, split) {
		return nil, fmt.Errorf("data: unknown %s split %q (want %s)", dir, split, strings.Join(splits, ", "))
	}
	name := dir + "/" + split + ".jsonl"
	xs, err := parse(strings.NewReader(embedded(name)))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	return xs, nil
}

// MaskToken is the placeholder of the masked character in a probe.
const MaskToken = "[MASK]"

// Splits are the names of the alert dataset's 80/10/10 splits, all made from the same
// templates.
var Splits = []string{"train", "val", "test"}

// HardSplit names the hard alert test set: templates, phrasings, hosts and services
// that never appear in Splits. Alerts(HardSplit) returns it.
const HardSplit = "hard"

// AlertSplits are every alert split Alerts accepts: Splits and HardSplit.
var AlertSplits = []string{"train", "val", "test", HardSplit}

// Corpus returns the pretraining corpus: the training text and the validation text,
// each a sequence of newline-terminated lines.
func Corpus() (train, val string) {
	return embedded("corpus/train.txt"), embedded("corpus/val.txt")
}

// CorpusLines returns the corpus split into lines (without the newlines).
func CorpusLines() (train, val []string) {
	t, v := Corpus()
	return splitLines(t), splitLines(v)
}

func splitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// CorpusStats describes the corpus for a character-level model.
type CorpusStats struct {
	TrainRunes, ValRunes int // characters, newlines included
	TrainLines, ValLines int
	UniqueChars          int // distinct characters in train and val, newline excluded
}

var stats = sync.OnceValue(func() CorpusStats {
	t, v := Corpus()
	seen := map[rune]bool{}
	for _, r := range t + v {
		if r != '\n' {
			seen[r] = true
		}
	}
	return CorpusStats{
		TrainRunes:  utf8.RuneCountInString(t),
		ValRunes:    utf8.RuneCountInString(v),
		TrainLines:  strings.Count(t, "\n"),
		ValLines:    strings.Count(v, "\n"),
		UniqueChars: len(seen),
	}
})

// Stats returns the sizes of the corpus.
func Stats() CorpusStats { return stats() }

// Probe is one fill-mask question: Text holds exactly one MaskToken, Answers the
// acceptable single characters for it, Note a short description.
type Probe struct {
	Text    string
	Answers []string
	Note    string
}

// Filled returns the probe's text with answer in place of the mask.
func (p Probe) Filled(answer string) string {
	return strings.Replace(p.Text, MaskToken, answer, 1)
}

// ParseProbes reads probes in the TSV format of probes/mlm_probes.tsv: one probe per
// line, text<TAB>answers<TAB>note, answers comma-separated single Chinese characters.
// A malformed line is an error that names its line number.
func ParseProbes(r io.Reader) ([]Probe, error) {
	var out []Probe
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("probes line %d: want 3 tab-separated fields, got %d", n, len(f))
		}
		if c := strings.Count(f[0], MaskToken); c != 1 {
			return nil, fmt.Errorf("probes line %d: want exactly one %s, got %d", n, MaskToken, c)
		}
		p := Probe{Text: f[0], Answers: strings.Split(f[1], ","), Note: f[2]}
		for _, a := range p.Answers {
			r, size := utf8.DecodeRuneInString(a)
			if a == "" || size != len(a) || !unicode.Is(unicode.Han, r) {
				return nil, fmt.Errorf("probes line %d: answer %q is not a single Chinese character", n, a)
			}
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("probes: no probes")
	}
	return out, nil
}

// MLMProbes returns the embedded fill-mask probes. The embedded file is checked by the
// package tests; should it ever fail to parse, MLMProbes returns nil and Validate
// reports why.
func MLMProbes() []Probe {
	ps, err := ParseProbes(strings.NewReader(embedded("probes/mlm_probes.tsv")))
	if err != nil {
		return nil
	}
	return ps
}

// Alert is one classification example: an alert text and its root-cause label, in
// English (Label, one of AlertLabels) and in Chinese (LabelZH). In the hard split, Kind
// is its kind of difficulty (one of AlertKinds) and Template the id of the template it
// was written from (label/kind/n); both are empty in the other splits.
type Alert struct {
	Text     string `json:"text"`
	Label    string `json:"label"`
	LabelZH  string `json:"label_zh"`
	Kind     string `json:"kind,omitempty"`
	Template string `json:"template,omitempty"`
}

// alertKinds are the kinds of difficulty of the hard split, in a fixed order.
var alertKinds = []string{"word_order", "english", "abbrev", "two_symptoms", "near_miss", "new_vocab"}

// AlertKinds returns the kinds of difficulty of the hard split: word_order (the usual
// parts in another order), english (an English-only alert), abbrev (shorthand),
// two_symptoms (a root cause and its consequence, labelled by the cause), near_miss (a
// neighbouring class's words, ruled out by the line) and new_vocab (words the training
// alerts never use).
func AlertKinds() []string { return slices.Clone(alertKinds) }

// alertLabels is the stable label order; a class index is a position in it.
var alertLabels = []struct{ en, zh string }{
	{"disk_full", "磁盘满"},
	{"oom", "内存不足"},
	{"cpu_high", "CPU 过载"},
	{"network", "网络超时"},
	{"db_conn", "数据库连接"},
	{"cert_expired", "证书过期"},
	{"config_error", "配置错误"},
	{"service_down", "服务宕机"},
}

// AlertLabels returns the eight root-cause labels in a fixed order; use the position of
// a label as its class index.
func AlertLabels() []string {
	out := make([]string, len(alertLabels))
	for i, l := range alertLabels {
		out[i] = l.en
	}
	return out
}

// AlertLabelZH returns the Chinese name of a label (磁盘满 for disk_full).
func AlertLabelZH(label string) (string, bool) {
	for _, l := range alertLabels {
		if l.en == label {
			return l.zh, true
		}
	}
	return "", false
}

// AlertLabelIndex returns the class index of label in AlertLabels, or -1.
func AlertLabelIndex(label string) int {
	for i, l := range alertLabels {
		if l.en == label {
			return i
		}
	}
	return -1
}

// ParseAlerts reads JSONL lines {"text":…,"label":…,"label_zh":…}, optionally with
// "kind" and "template" (the hard split). Unknown fields, empty text, an unknown label or
// kind, or a label_zh that does not match the label are errors.
func ParseAlerts(r io.Reader) ([]Alert, error) {
	return parseJSONL(r, "alerts", func(a *Alert) error {
		if strings.TrimSpace(a.Text) == "" {
			return errors.New("empty text")
		}
		zh, ok := AlertLabelZH(a.Label)
		if !ok {
			return fmt.Errorf("unknown label %q", a.Label)
		}
		if a.LabelZH != zh {
			return fmt.Errorf("label_zh %q does not match label %q (%s)", a.LabelZH, a.Label, zh)
		}
		if a.Kind != "" && !slices.Contains(alertKinds, a.Kind) {
			return fmt.Errorf("unknown kind %q (want one of %s)", a.Kind, strings.Join(alertKinds, ", "))
		}
		return nil
	})
}

// parseJSONL reads one JSON object per line into T, rejecting unknown fields, and runs
// check on each; errors name the dataset (what) and the line.
func parseJSONL[T any](r io.Reader, what string, check func(*T) error) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var v T
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", what, n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s line %d: more than one JSON value", what, n)
		}
		if err := check(&v); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", what, n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples", what)
	}
	return out, nil
}

// Alerts returns one split of the alert classification data: "train", "val", "test"
// (80/10/10 from the same templates) or "hard" (HardSplit: unseen templates and names,
// every line with its Kind and Template).
func Alerts(split string) ([]Alert, error) {
	as, err := loadSplit("alerts", split, AlertSplits, ParseAlerts)
	if err != nil {
		return nil, err
	}
	for i, a := range as {
		if hard := split == HardSplit; hard != (a.Kind != "") || hard != (a.Template != "") {
			return nil, fmt.Errorf("data: alerts/%s.jsonl line %d: kind and template must be set in the hard split and only there", split, i+1)
		}
	}
	return as, nil
}

// Validate checks every embedded file: the corpus is valid UTF-8 with non-empty,
// newline-terminated lines, and every other dataset parses.
func Validate() error {
	t, v := Corpus()
	for _, c := range []struct{ name, text string }{{"corpus/train.txt", t}, {"corpus/val.txt", v}} {
		if err := checkCorpus(c.text); err != nil {
			return fmt.Errorf("data: %s: %w", c.name, err)
		}
	}
	if _, err := ParseProbes(strings.NewReader(embedded("probes/mlm_probes.tsv"))); err != nil {
		return fmt.Errorf("data: probes/mlm_probes.tsv: %w", err)
	}
	for _, s := range AlertSplits {
		if _, err := Alerts(s); err != nil {
			return err
		}
	}
	for _, s := range QASplits {
		if _, err := QA(s); err != nil {
			return err
		}
	}
	for _, task := range Seq2SeqTasks {
		for _, s := range Seq2SeqSplits {
			if _, err := Seq2Seq(task, s); err != nil {
				return err
			}
		}
	}
	for _, s := range SFTSplits {
		if _, err := SFT(s); err != nil {
			return err
		}
		if _, err := DPO(s); err != nil {
			return err
		}
	}
	return nil
}

func checkCorpus(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if !strings.HasSuffix(s, "\n") {
		return errors.New("last line has no newline")
	}
	for i, l := range splitLines(s) {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("line %d is empty", i+1)
		}
		if strings.ContainsAny(l, "\r\t") {
			return fmt.Errorf("line %d contains a carriage return or tab", i+1)
		}
	}
	return nil
}
