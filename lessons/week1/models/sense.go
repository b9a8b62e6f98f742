package models

import (
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
)

// SenseShift measures a week1.SenseTest on one model: the per-layer cosine similarity of
// the word's vectors ([ContextShift]) for the cross pair and for each control pair.
func SenseShift(m *llm.Model, t week1.SenseTest) (week1.SenseResult, error) {
	r := week1.SenseResult{Model: archName(m.Config.Arch)}
	var err error
	if r.Cross, err = ContextShift(m, t.Cross[0], t.Cross[1], t.Word); err != nil {
		return r, err
	}
	for _, p := range t.Controls {
		c, err := ContextShift(m, p[0], p[1], t.Word)
		if err != nil {
			return r, err
		}
		r.Controls = append(r.Controls, c)
	}
	return r, nil
}
