// Package pipeline runs real checkpoints the way Hugging Face's transformers.pipeline does:
// the same task names, the same inputs, the same post-processing and the same outputs, so
// a result printed here can be compared number for number with Python.
//
//	FillMask            "我们爱北京，它很[MASK]。" → [{score, token, token_str, sequence}]
//	TextClassification  text → [{label, score}], softmax over the classifier logits
//	QuestionAnswering   (question, context) → {score, answer, start, end}
//	TextGeneration      prompt → [{generated_text}]
//	FeatureExtraction   text → [tokens][hidden]: the last hidden state, [CLS]/[SEP] included
//
// Every function takes an [llm.Model] (from [llm.Load]) and uses its tokenizer.
//
// # Fill-mask
//
// The text is encoded as [CLS] text [SEP]; at the [MASK] position the MLM head gives
// logits z over the vocabulary and
//
//	score(w) = softmax(z)_w = exp(z_w) / Σ_v exp(z_v)
//
// The top-k words are returned, each with the sequence obtained by putting it in place of
// [MASK] and decoding without special tokens (Chinese characters come back separated by
// spaces, exactly as Hugging Face's BertTokenizer.decode prints them).
//
// # Text classification
//
// The classifier reads the pooled [CLS] vector: logits z = W·tanh(W_p·h_[CLS] + b_p) + b, and
// score = softmax(z) (sigmoid when the model has a single label). Label names come from
// config.json's id2label ("LABEL_i" when absent). All labels are returned, best first; the
// first is what transformers returns by default (top_k=1).
//
// # Extractive question answering
//
// The model reads "[CLS] question [SEP] context [SEP]" (token types 0 then 1) and its
// qa_outputs layer gives two logits per token, a_i (start) and b_i (end). The answer is the
// context span (s, e) that maximises
//
//	score(s, e) = softmax(a)_s · softmax(b)_e,   s ≤ e ≤ s + MaxAnswerLen − 1
//
// following transformers' QuestionAnsweringPipeline precisely:
//
//  1. Long contexts are cut into windows. With q question tokens, each window holds
//     L = MaxSeqLen − q − 3 context tokens; windows start at 0, L−DocStride, 2(L−DocStride), …
//     (consecutive windows share DocStride tokens) and stop at the first window that reaches
//     the end of the context, as the Rust tokenizer's overflow does.
//  2. In each window, every token that cannot be part of an answer (question tokens, [SEP],
//     padding) gets its logits replaced by −10000 before the softmax. [CLS] is NOT masked
//     (some models point at it for "no answer"), so the softmax runs over {[CLS]} ∪ context
//     tokens and [CLS]'s probability stays in the denominator.
//  3. Then p_start[CLS] = p_end[CLS] = 0, and the best spans with s ≤ e and
//     e − s + 1 ≤ MaxAnswerLen are kept (TopK of them per window).
//  4. The spans of all windows are sorted by score and the TopK best returned. Their
//     token positions are turned into character offsets of the context, widened to whole
//     words (a span starting inside "tokenizer" at "##izer" starts at "t"), as
//     align_to_words=True does. A Chinese character is a word of its own.
//
// Start and End are character (Unicode code point) offsets, as in Python:
// context[start:end] == answer. Scores are probabilities of a span among all spans of its
// window, so scores from different windows are comparable only roughly — which is what
// transformers does too.
//
// # Text generation
//
// The prompt is encoded without special tokens and continued by [llm.Model.GenerateIDs]
// (greedy when Temperature is 0). generated_text is the prompt followed by the decoded
// continuation: decode(prompt + new)[len(decode(prompt)):], special tokens skipped — the
// same rule transformers uses, so a BERT-vocabulary GPT-2 (uer/gpt2-chinese-*) prints
// "今天天气很 好 ， 我" with spaces, exactly as in Python.
//
// "Without special tokens" is what transformers did until version 4.4x and what the
// uer/gpt2-chinese model cards show. Newer transformers let the tokenizer add its defaults,
// which changes nothing for GPT-2's own BPE tokenizer but turns a BERT-vocabulary prompt
// into "[CLS] prompt [SEP]" (the model then continues after an end-of-text mark); to
// reproduce that, call [llm.Model.GenerateIDs] with those ids.
//
// # Differences from transformers
//
// Inputs longer than the model's positions are truncated (transformers raises an error).
// Inputs are right-padded to a multiple of [Bucket] tokens with the padding masked out, so
// that GoMLX compiles one graph per bucket rather than one per input length; the numbers
// are the same up to float rounding.
package pipeline
