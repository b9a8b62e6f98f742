// Package serve runs a GPT checkpoint as an HTTP service that the official OpenAI client
// libraries can use unchanged, with continuous batching, streaming and Prometheus
// metrics (`divellm serve`, week 4).
//
// # Routes
//
//	POST /v1/completions       prompt → text        (OpenAI "text_completion")
//	POST /v1/chat/completions  messages → message   (OpenAI "chat.completion", chunks "chat.completion.chunk")
//	GET  /v1/models            the served model ids
//	POST /v1/classify          texts → label + probabilities (a BERT classifier, batched)
//	POST /tokenize, /detokenize
//	GET  /health               503 until the models are loaded (and while draining), then 200
//	GET  /metrics              Prometheus text format
//
// Errors are OpenAI's error object {"error": {"message", "type", "param", "code"}} with
// a 4xx/5xx status: 400 for a bad request, 401 without the API key, 404 for an unknown
// model or URL, 413 for a body over the limit, 429 when the queue is full, 503 while
// loading or shutting down, 504 past the request deadline.
//
// With "stream": true the answer is Server-Sent Events: lines "data: {json}" separated by
// blank lines, one chunk per piece of text (choices[0].text, or choices[0].delta.content
// for chat after a first chunk with delta.role), a chunk with the finish_reason ("stop"
// for the end-of-text token or a stop string, "length" for max_tokens), a usage chunk
// when stream_options.include_usage is true, and finally "data: [DONE]".
//
// # Continuous batching
//
// An [Engine] holds MaxBatch KV-cache slots (one qmodel.Session each) and repeats one
// step: every running sequence contributes its next token (a newly admitted one its prompt,
// in chunks), all rows go through the model together (qmodel.GPT.ForwardBatch: each weight
// matrix is read once per step for the whole batch), and one token is sampled per
// sequence with package sample. A step of B sequences costs t(B) ≈ t(1) + (B−1)·δ with δ
// much smaller than t(1) while the weights dominate, so throughput grows as
//
//	tokens/s = B / t(B)
//
// until compute dominates. Measured on 2 cores (week 4's notebook, concurrency 16 vs 1):
// gpt-tiny-zh's 4 MB of weights stay in the caches, per-sequence work dominates and
// t(16)/t(1) ≈ 11 (gain 1.5–2×); GPT-2 small's body (344 MB, dummy weights, below) has
// t(16)/t(1) ≈ 3.3 (gain 4.7–5.3×). Requests join between steps; a finished, cancelled or timed-out
// sequence frees its slot before the next step. Sequences that find no free slot wait in
// a bounded queue; past it the server answers 429.
//
// Prefix reuse: a freed slot keeps its cache, and a new prompt goes to the free slot whose
// cached tokens share the longest prefix with it, so only the rest of the prompt is
// prefilled (usage.prompt_tokens_details.cached_tokens counts the reused tokens). A repeated
// system prompt is the common case.
//
// # Dummy weights
//
// [LoadDummyGenerator] (`divellm serve --load-format dummy [--hf-overrides JSON]`, vLLM's
// flags) builds random weights (seed 1) of a checkpoint's config, with some of its keys
// replaced, and serves them with the checkpoint's tokenizer: the text is noise, but the
// speed is that of a real model of that shape, so batching and quantization can be
// measured on shapes whose weights are not at hand.
//
// # Chat template
//
// The models are base language models, so chat messages are rendered as text
// ([DefaultChatTemplate]): one line "系统：…", "用户：…" or "助手：…" per message, then
// "助手：" for the model to continue; the turn also ends where the model starts a new
// "用户：" line.
//
// # Security and limits
//
// The CLI binds 127.0.0.1 unless told otherwise, and another address needs an API key
// (Config.APIKey, checked in constant time) or an explicit --insecure. Every request is
// bounded: body size, prompt tokens, max_tokens, stop strings (4), choices (n × prompts),
// messages, logit_bias entries, texts per classify request and the request's duration.
package serve
