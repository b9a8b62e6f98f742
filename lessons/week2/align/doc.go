// Package align holds the helpers of the week-2 notebook's second half (notebooks/src/
// week2-finetune.txt): supervised fine-tuning (SFT) of gpt-tiny-zh on the ops Q&A pairs of
// lessons/data, and preference tuning with DPO. It also serves `divellm finetune --task sft`
// and `--task dpo`.
//
// SFT is causal language modelling with the prompt masked out. A training line is
// 问：question答：answer<|endoftext|>; with P prompt tokens, the input is the line without
// its last token and the label of position t is the token after it, or −100 (ignored)
// while that token is still the prompt:
//
//	labels[t] = ids[t+1] if t+1 ≥ P, else −100        (see [AnswerLabels])
//	L_SFT = −(1/|A|) Σ_{t∈A} log p_θ(ids[t+1] | ids[≤t]),  A = {t : labels[t] ≠ −100}
//
// DPO (Rafailov et al. 2023) trains on pairs (prompt x, chosen y_w, rejected y_l) against
// a frozen reference π_ref (the starting policy):
//
//	r(y) = β·(log π_θ(y|x) − log π_ref(y|x))          the implicit reward
//	L_DPO = −log σ(r(y_w) − r(y_l)),  the margin is r(y_w) − r(y_l)   (see [DPOLoss])
//
// where log π(y|x) is the sum of the answer tokens' log-probabilities (the same answer
// mask as SFT). The loss itself is computed by llm's DPO objective; this package builds the
// batches, the reference log-probabilities, plain-Go references of both losses (the tests
// and the notebook's by-hand cells compare them with llm's values), the RLHF diagram, the
// exercises, and the runs.
//
// GoNB runs every cell as a new program, so a run ([SFT], [DPO]) trains once and is kept
// under .cache/week2/align/ in the checkout, keyed by a hash of everything it depends on
// (the starting weights, the data, the hyper-parameters); the next cell reloads the
// trained model and the recorded curves in well under a second.
package align
