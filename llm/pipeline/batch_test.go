package pipeline

import (
	"testing"
)

// TestTextClassificationBatchMatchesTransformers: the reference texts classified together
// in one padded batch (3 texts → 4 rows, padded to the longest) get transformers' labels,
// and a GPT classifier reads each row's own last token.
func TestTextClassificationBatchMatchesTransformers(t *testing.T) {
	m := loadModel(t, "tiny-bert")
	ref := loadRef(t).TextClassification
	if len(ref) < 2 {
		t.Fatalf("the reference has %d classification cases; the batch test needs several", len(ref))
	}
	var texts []string
	for _, c := range ref {
		texts = append(texts, c.Text)
	}
	texts = append(texts, ref[0].Text) // a repeat lands in a different row
	got, err := TextClassificationBatch(m, texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("%d results for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		want := ref[i%len(ref)].Labels
		for j, w := range want {
			if got[i][j].Label != w.Label || !near(got[i][j].Score, w.Score, 1e-4) {
				t.Errorf("%q (row %d) label %d: got %+v, want %+v", text, i, j, got[i][j], w)
			}
		}
	}
	if _, err := TextClassificationBatch(m, nil); err == nil {
		t.Error("an empty batch was accepted")
	}
	if _, err := TextClassificationBatch(loadModel(t, "tiny-gpt2-zh"), []string{"我们"}); err == nil {
		t.Error("a model without a classification head was accepted")
	}
}
