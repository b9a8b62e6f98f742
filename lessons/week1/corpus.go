package week1

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/lessons/data"
)

// CorpusHit is one corpus line that contains a text.
type CorpusHit struct {
	Split string // "train" or "val"
	Line  int    // line number in that file, from 1
	Text  string // the whole line
}

// FindInCorpus returns up to max corpus lines (train first, then val) that contain s
// (max ≤ 0: all of them). The models were trained on lessons/data/corpus/train.txt, so a
// sentence found there is one the model has read, not a held-out test.
func FindInCorpus(s string, max int) []CorpusHit {
	if s == "" || strings.Contains(s, "\n") {
		return nil
	}
	train, val := data.Corpus()
	var hits []CorpusHit
	for _, split := range []struct{ name, text string }{{"train", train}, {"val", val}} {
		// One fast substring search over the whole text, then the line around each match.
		text, line, lineStart := split.text, 1, 0
		for from := 0; ; {
			i := strings.Index(text[from:], s)
			if i < 0 {
				break
			}
			at := from + i
			line += strings.Count(text[lineStart:at], "\n")
			lineStart = strings.LastIndexByte(text[:at], '\n') + 1
			end := strings.IndexByte(text[at:], '\n')
			if end < 0 {
				end = len(text) - at
			}
			hits = append(hits, CorpusHit{split.name, line, text[lineStart : at+end]})
			if max > 0 && len(hits) == max {
				return hits
			}
			from = at + end // the next match is on a later line
		}
	}
	return hits
}

// CorpusTable says, for each sentence, whether it occurs in the corpus and where: the
// notebook prints it beside every sentence it analyses, so "held out" is checked, not
// assumed.
func CorpusTable(sentences ...string) (headers []string, rows [][]string) {
	for _, s := range sentences {
		hits := FindInCorpus(s, 0)
		where := "不在语料里 (held out)"
		if len(hits) > 0 {
			var at []string
			for i, h := range hits {
				if i == 3 {
					at = append(at, fmt.Sprintf("… %d 处 (places)", len(hits)))
					break
				}
				at = append(at, fmt.Sprintf("%s.txt 第 %d 行：%s", h.Split, h.Line, h.Text))
			}
			where = "在语料里 (in the corpus)：" + strings.Join(at, "；")
		}
		rows = append(rows, []string{s, where})
	}
	return []string{"句子 (sentence)", "训练语料 (corpus)"}, rows
}
