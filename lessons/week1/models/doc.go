// Package models is the half of week 1 that runs the trained Transformers (the shipped
// gpt-tiny-zh and bert-tiny-zh, or a model trained in the notebook): attention maps, heads
// recomputed in plain Go from the model's own weights, hidden states, fill-mask, the live
// pretraining run, the timed inference pipeline, and the encoder-decoder trained in the
// notebook (a TinyBART on the alerts seq2seq task, cached under .cache/week1/seq2seq) with
// its cross-attention. Its results are week1's plain types
// (week1.Walkthrough, week1.AttentionMap, …), drawn by week1's views.
//
// It is a package of its own because it links the GoMLX backend: a notebook cell that
// imports it takes about half a second longer to build than one that imports only
// lessons/week1 (GoNB builds every cell into a new program). Cells that only tokenize,
// step through a random head, draw masks or check exercises import lessons/week1 alone.
//
// Every weight is read through one function, weight, so a change in how package llm stores
// weights changes one place here.
package models
