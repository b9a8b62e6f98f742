package models

import (
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
)

func TestPipelineTimings(t *testing.T) {
	m := smallModel(t, llm.GPT)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	p, err := PipelineTimings(dir, "我今天去", 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != 7 || p.Total() <= 0 {
		t.Fatalf("stages %+v", p.Stages)
	}
	for _, s := range p.Stages {
		if s.Duration <= 0 || s.Detail == "" {
			t.Errorf("stage %+v", s)
		}
	}
	// The pipeline's greedy output is the model's own greedy generation.
	g, err := m.Generate("我今天去", llm.GenerateOptions{MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	if p.Output != g.Text || !strings.Contains(p.Stages[1].Detail, "4 个 token") {
		t.Errorf("output %q, want %q; %s", p.Output, g.Text, p.Stages[1].Detail)
	}
	h, rows := p.Table()
	if len(rows) != 7 || len(rows[0]) != len(h) {
		t.Error("table")
	}
	if _, err := PipelineTimings(t.TempDir(), "我", 2); err == nil {
		t.Error("a directory without a model should be an error")
	}
	b := smallModel(t, llm.BERT)
	bdir := t.TempDir()
	if err := b.Save(bdir); err != nil {
		t.Fatal(err)
	}
	if _, err := PipelineTimings(bdir, "我", 2); err == nil {
		t.Error("a BERT model should be refused")
	}
}
