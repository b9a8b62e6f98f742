package data

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Seq2SeqTasks are the toy sequence-to-sequence tasks for a tiny encoder-decoder:
//
//   - "alerts": an alert log line → its short summary, mostly copied from the line:
//     09-14 02:13:07 [CRITICAL] db-03 磁盘使用率 97% → db-03 磁盘 97% 严重. The test
//     split's hosts never occur in training.
//   - "dates": a spoken Chinese date and time → MM-DD HH:MM:
//     三月十四日凌晨两点十三分 → 03-14 02:13 (the fallback task).
var Seq2SeqTasks = []string{"alerts", "dates"}

// Seq2SeqSplits are the splits of each task; no test source occurs in training.
var Seq2SeqSplits = []string{"train", "test"}

// Length limits of the seq2seq data, in characters.
const (
	Seq2SeqMaxSource = 48
	Seq2SeqMaxTarget = 20
)

// Seq2SeqPair is one example: a source text and the target text the decoder writes.
type Seq2SeqPair struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// ParseSeq2Seq reads JSONL lines {"id","source","target"}. Unknown fields, empty
// fields and texts longer than Seq2SeqMaxSource / Seq2SeqMaxTarget are errors.
func ParseSeq2Seq(r io.Reader) ([]Seq2SeqPair, error) {
	return parseJSONL(r, "seq2seq", func(p *Seq2SeqPair) error {
		if p.ID == "" || p.Source == "" || p.Target == "" {
			return errors.New("id, source and target must be set")
		}
		if n, m := utf8.RuneCountInString(p.Source), utf8.RuneCountInString(p.Target); n > Seq2SeqMaxSource || m > Seq2SeqMaxTarget {
			return fmt.Errorf("%d → %d characters, want ≤ %d → %d", n, m, Seq2SeqMaxSource, Seq2SeqMaxTarget)
		}
		return nil
	})
}

// Seq2Seq returns one split ("train" or "test") of one task ("alerts" or "dates").
func Seq2Seq(task, split string) ([]Seq2SeqPair, error) {
	if !slices.Contains(Seq2SeqTasks, task) {
		return nil, fmt.Errorf("data: unknown seq2seq task %q (want %s)", task, strings.Join(Seq2SeqTasks, " or "))
	}
	if !slices.Contains(Seq2SeqSplits, split) {
		return nil, fmt.Errorf("data: unknown seq2seq split %q (want %s)", split, strings.Join(Seq2SeqSplits, " or "))
	}
	return loadSplit("seq2seq", task+"_"+split, []string{task + "_train", task + "_test"}, ParseSeq2Seq)
}

// Seq2SeqChars returns the sorted distinct characters of the sources and targets: the
// vocabulary of a character-level encoder-decoder (add its special tokens).
func Seq2SeqChars(pairs ...[]Seq2SeqPair) []rune {
	seen := map[rune]bool{}
	for _, ps := range pairs {
		for _, p := range ps {
			for _, r := range p.Source + p.Target {
				seen[r] = true
			}
		}
	}
	out := make([]rune, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
