// Package week4 holds the helpers of week 4's notebook (notebooks/week4-serving.ipynb):
// deployment. The model is served by `divellm serve` (package llm/serve) in a process of
// its own, because every notebook cell is a new program: [Start] launches it in the
// background (pid and record in .cache/week4, log file beside them), waits until GET
// /health answers 200, and finds or replaces the running server when a cell runs again,
// so no server is leaked; [Server.Stop] ends it with SIGTERM (it drains first).
//
// The other helpers measure it: [ReadMetrics] parses /metrics, [Sweep] load-tests at
// several concurrencies (llm/serve/loadtest) and [SweepCharts] draws throughput and latency
// against concurrency, [PrefixTrials] times the first token of chat requests that share a
// system prompt. [TensorParallel] and [PipelineParallel] split work across two workers the
// way multi-GPU engines do, with checked results and timings. The exercises' checkers are
// in exercises.go.
//
// Throughput of a batched decoder, with t(B) the duration of one decode step of B
// sequences:
//
//	tokens/s = B / t(B),     gain of batching = (B / t(B)) / (1 / t(1)) = B·t(1)/t(B)
//
// This package links neither GoMLX nor the server, so its cells compile fast.
package week4
