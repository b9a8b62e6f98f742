package main

// `divellm bench NAME`: each benchmark file adds its subcommand from init with
// defineSub("bench", …) (bench_train.go: "train"; bench_quant.go: "quant").

func init() {
	define(&command{name: "bench", summary: "run benchmarks: bench train (tiny GPT training/forward) | bench quant (int8/int4 kernels, decoding, perplexity)",
		usage: "NAME [flags]", subs: map[string]*command{}, subNoun: "benchmark"})
}
