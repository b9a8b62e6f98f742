// Package qa is week 3's extractive question answering and inference pipeline: the
// metrics (exact match and character F1), the span search over start/end logits, the
// fine-tuning of bert-tiny-zh with a span head (what `divellm train-qa` and `make models`
// run to build models/bert-tiny-zh-qa), and the measurements the notebook draws — the
// QA pipeline's stage timings, the KV cache on and off, greedy and sampled outputs, a
// padded batch with its attention mask, and a long context read in windows.
//
// GoNB runs every notebook cell as a new program, so expensive results (the held-out
// evaluation) are cached on disk under .cache/week3/qa/ in the checkout, keyed by a hash
// of the model's weights, and reloaded fast.
package qa
