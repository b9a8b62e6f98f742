package pipeline

import (
	"fmt"
	"math"
	"sort"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// TextClassificationBatch is [TextClassification] for many texts in one forward pass (a
// server batches concurrent requests this way): the texts are padded to the bucket of the
// longest and the batch to a power of two, so a few compiled graphs serve every batch.
// Padding is masked out, so each text gets the labels it would get alone. Texts longer than
// the model's positions are cut, as transformers' pipeline does.
func TextClassificationBatch(m *llm.Model, texts []string) ([][]Label, error) {
	if err := needTokenizer("text-classification", m); err != nil {
		return nil, err
	}
	if !m.Heads().Classifier {
		return nil, fmt.Errorf("text-classification: the model has no classification head (classifier / score)")
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("text-classification: no texts")
	}
	seqs := make([][]int, len(texts))
	for i, text := range texts {
		seqs[i], _ = tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
		if len(seqs[i]) == 0 {
			return nil, fmt.Errorf("text-classification: text %d is empty", i)
		}
	}
	out, err := forwardBatch(m, seqs)
	if err != nil {
		return nil, fmt.Errorf("text-classification: %w", err)
	}
	res := make([][]Label, len(texts))
	for i, ids := range seqs {
		var logits []float32
		if m.Config.Arch == llm.GPT {
			logits = out.Classes.Row(i, len(ids)-1) // [b, s, labels]: the last token decides
		} else {
			logits = out.Classes.Row(i) // [b, labels]
		}
		res[i] = labelsOf(m.Config, logits)
	}
	return res, nil
}

// labelsOf turns classifier logits into labels with probabilities, best first: softmax,
// or the sigmoid for a single label.
func labelsOf(c llm.Config, logits []float32) []Label {
	var probs []float64
	if len(logits) == 1 {
		probs = []float64{1 / (1 + math.Exp(-float64(logits[0])))} // one label: sigmoid
	} else {
		probs = sample.Probs(logits)
	}
	labels := make([]Label, len(probs))
	for i, p := range probs {
		labels[i] = Label{Label: labelName(c, i), Score: p}
	}
	sort.SliceStable(labels, func(a, b int) bool { return labels[a].Score > labels[b].Score })
	return labels
}

// forwardBatch runs sequences right-padded to the longest (Forward pads further to its
// bucket) and, for more than one, stacked into a batch of the next power of two rows: the
// extra rows hold one [PAD] token and are dropped, and a handful of batch shapes serve
// every request mix. Rows of the output keep the order of seqs.
func forwardBatch(m *llm.Model, seqs [][]int) (*llm.Output, error) {
	rows := 1
	for rows < len(seqs) {
		rows *= 2
	}
	pad := max(m.Tokenizer.Specials().PAD, 0)
	all := append(append([][]int(nil), seqs...), make([][]int, rows-len(seqs))...)
	for r := len(seqs); r < rows; r++ {
		all[r] = []int{pad}
	}
	return m.Forward(llm.PadBatch(all, pad), llm.ForwardOptions{SkipLogits: true})
}
