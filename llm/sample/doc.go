// Package sample turns a model's scores (logits) into probabilities and picks tokens from
// them. It is the one place in divellm that computes a softmax or a top-k: attention
// references, pipelines, generation, the server and the quantized decoder all call it.
//
// Softmax, computed stably by subtracting the row maximum m = maxⱼ xⱼ first:
//
//	softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)
//
// A score of −Inf gets probability exactly 0; a row that is all −Inf gets a uniform
// distribution (what Hugging Face's models do when a row is fully masked).
//
// Sampling a next token from logits z with [Options]:
//
//	temperature T:  p = softmax(z / T)           (T → 0 is greedy: argmax)
//	top-k:          keep the K most likely tokens, renormalise
//	top-p (nucleus): keep the smallest set, most likely first, whose mass ≥ P, renormalise
//
// Nothing here imports GoMLX: the package is a leaf that compiles in milliseconds.
package sample
