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
// until compute dominates. Requests join between steps; a finished, cancelled or timed-out
// sequence frees its slot before the next step. Sequences that find no free slot wait in
// a bounded queue; past it the server answers 429.
//
// Prefix reuse: a freed slot keeps its cache, and a new prompt goes to the free slot whose
// cached tokens share the longest prefix with it, so only the rest of the prompt is
// prefilled (usage.prompt_tokens_details.cached_tokens counts the reused tokens). A repeated
// system prompt is the common case.
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
