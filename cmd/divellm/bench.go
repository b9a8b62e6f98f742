package main

import (
	"io"
	"sort"
	"strings"
)

// benchSubcommands maps `divellm bench NAME` to its runner; each benchmark file adds its
// entry from init (bench_quant.go: "quant"; the model benchmarks: "train").
var benchSubcommands = map[string]func(args []string, w io.Writer) error{}

func init() {
	register("bench", "run benchmarks: bench train | bench quant [--json]", benchCmd)
}

func benchCmd(args []string, w io.Writer) error {
	names := make([]string, 0, len(benchSubcommands))
	for n := range benchSubcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("usage: divellm bench {%s} [flags]", strings.Join(names, "|"))
	}
	run, ok := benchSubcommands[args[0]]
	if !ok {
		return usagef("unknown benchmark %q (have %s)", args[0], strings.Join(names, ", "))
	}
	return run(args[1:], w)
}
