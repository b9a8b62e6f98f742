package llm

import (
	"fmt"
	"strconv"
	"strings"
)

// AddClassifier turns a pretrained model into a sequence classifier over labels (the
// fine-tuning start of transformers' AutoModelForSequenceClassification): a new
// classifier head (BERT: dense on the pooled [CLS], with the pooler added if missing;
// GPT: GPT-2's "score" on the last real token) initialised normal(0, 0.02), and
// Config.NumLabels / ID2Label set. A BERT model's MLM head is removed, as
// BertForSequenceClassification has none.
func (m *Model) AddClassifier(labels []string, seed uint64) error {
	if len(labels) < 2 || len(labels) > MaxLabels {
		return fmt.Errorf("add classifier: need 2 to %d labels, got %d", MaxLabels, len(labels))
	}
	if m.LoRA != nil {
		return fmt.Errorf("add classifier: add the head before the LoRA adapters")
	}
	if m.Config.Arch == BART {
		return fmt.Errorf("add classifier: not implemented for encoder-decoders; use a BERT or GPT model")
	}
	c := m.Config
	c.NumLabels = len(labels)
	c.ID2Label = map[string]string{}
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("add classifier: label %d is empty", i)
		}
		c.ID2Label[strconv.Itoa(i)] = l
	}
	n := c.ModelNames()
	for _, name := range m.Weights.Names() {
		if strings.HasPrefix(name, "cls.predictions.") || strings.HasPrefix(name, n.Classifier+".") {
			m.Weights.Delete(name)
		}
	}
	heads := HeadSet{Classifier: true, Pooler: c.Arch == BERT}
	if err := m.addMissing(c, heads, seed); err != nil {
		return fmt.Errorf("add classifier: %w", err)
	}
	m.Config = c
	return nil
}

// AddQAHead adds BERT's extractive question-answering head (qa_outputs: start and end
// logits per token) initialised normal(0, 0.02), removing the MLM head as
// BertForQuestionAnswering has none.
func (m *Model) AddQAHead(seed uint64) error {
	if m.Config.Arch != BERT {
		return fmt.Errorf("add QA head: needs a BERT model")
	}
	for _, name := range m.Weights.Names() {
		if strings.HasPrefix(name, "cls.predictions.") || strings.HasPrefix(name, "qa_outputs.") {
			m.Weights.Delete(name)
		}
	}
	if err := m.addMissing(m.Config, HeadSet{QA: true, Pooler: m.Heads().Pooler}, seed); err != nil {
		return fmt.Errorf("add QA head: %w", err)
	}
	return nil
}

// addMissing initialises every parameter the heads need that the weights lack.
func (m *Model) addMissing(c Config, heads HeadSet, seed uint64) error {
	r := newRand(seed, 0xbead)
	for _, sp := range paramSpecs(c, heads) {
		if m.Weights.Has(sp.name) {
			continue
		}
		data := make([]float32, shapeSize(sp.shape))
		initValues(data, sp.init, c, r)
		if err := m.Weights.Set(sp.name, sp.shape, data); err != nil {
			return err
		}
	}
	return nil
}
