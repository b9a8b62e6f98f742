package models

import (
	"fmt"
	"slices"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
)

// FillMask asks a BERT model for the topK candidates of the [MASK] in text (the
// fill-mask pipeline).
func FillMask(m *llm.Model, text string, topK int) ([]week1.MaskFill, error) {
	res, err := pipeline.FillMask(m, text, topK)
	if err != nil {
		return nil, err
	}
	var out []week1.MaskFill
	for _, c := range res {
		out = append(out, week1.MaskFill{Token: c.TokenStr, Prob: c.Score, Sentence: data.Probe{Text: text}.Filled(c.TokenStr)})
	}
	return out, nil
}

// ProbeAccuracy runs every probe of data.MLMProbes through a BERT model and counts how
// often an acceptable answer is the top candidate (top-1) or among the top five (top-5),
// on all probes and separately on the probes whose window (the answer with two characters
// on each side, [week1.ProbeWindow]) occurs in the training corpus — recall can answer
// those — and on those whose window never occurs. No probe's whole filled-in sentence is
// in the corpus (InCorpus counts any that are).
func ProbeAccuracy(m *llm.Model) (*week1.ProbeResult, error) {
	probes := data.MLMProbes()
	if len(probes) == 0 {
		return nil, fmt.Errorf("probe accuracy: no probes")
	}
	res := &week1.ProbeResult{}
	for _, p := range probes {
		fills, err := FillMask(m, p.Text, 5)
		if err != nil {
			return nil, fmt.Errorf("probe %q: %w", p.Text, err)
		}
		_, seen := week1.ProbeWindow(p)
		row := week1.ProbeRow{Text: p.Text, Answers: p.Answers, Note: p.Note, Window: seen}
		for i, f := range fills {
			row.Top = append(row.Top, week1.Candidate{Token: f.Token, Prob: f.Prob})
			if slices.Contains(p.Answers, f.Token) {
				row.Hit5 = true
				row.Hit1 = row.Hit1 || i == 0
			}
		}
		for _, a := range p.Answers {
			if len(week1.FindInCorpus(p.Filled(a), 1)) > 0 {
				res.InCorpus++
				break
			}
		}
		res.Rows = append(res.Rows, row)
	}
	res.Score()
	return res, nil
}
