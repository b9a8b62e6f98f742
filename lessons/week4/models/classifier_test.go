package models

import (
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week4"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
)

// TestUntrained: the stand-in keeps every encoder weight of bert-tiny-zh, has the eight
// alert labels, and classifies through the pipeline.
func TestUntrained(t *testing.T) {
	src, err := week4.ModelDir("bert-tiny-zh")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "cls")
	if err := Untrained(src, dst); err != nil {
		t.Fatal(err)
	}
	m, err := llm.Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := llm.Load(src)
	same := 0
	for _, name := range base.Weights.Names() {
		if !m.Weights.Has(name) {
			continue
		}
		p, _ := base.Weights.Float32(name)
		q, _ := m.Weights.Float32(name)
		for i := range p {
			if p[i] != q[i] {
				t.Fatalf("%s changed", name)
			}
		}
		same++
	}
	if same < 10 || !m.Heads().Classifier || m.Config.NumLabels != len(data.AlertLabels()) {
		t.Fatalf("%d weights kept, heads %+v, %d labels", same, m.Heads(), m.Config.NumLabels)
	}
	labels, err := pipeline.TextClassification(m, "db-prod-03 磁盘使用率 97%")
	if err != nil || len(labels) != 8 {
		t.Fatalf("%v %v", labels, err)
	}
	if zh, _ := data.AlertLabelZH(data.AlertLabels()[0]); m.Config.ID2Label["0"] != zh {
		t.Fatalf("id2label %v", m.Config.ID2Label)
	}
}

// TestCheckHFLayout: every check passes on the repository's files.
func TestCheckHFLayout(t *testing.T) {
	checks, err := CheckHFLayout()
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 {
		t.Fatalf("%d checks", len(checks))
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s", c.What, c.Detail)
		}
	}
}
