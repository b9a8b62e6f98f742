package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command: 0 done, 1 invalid source or stale notebook, 2 bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nbgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "checkout root (the directory holding notebooks/src)")
	check := fs.Bool("check", false, "only check that every generated notebook is up to date")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nbgen: unexpected arguments %q: run it from the checkout root as go run ./lessons/nbgen [-check]\n", fs.Args())
		return 2
	}
	outs, err := GenerateAll(*root)
	if err != nil {
		fmt.Fprintln(stderr, "nbgen:", err)
		return 1
	}
	if *check {
		if stale := Stale(*root, outs); len(stale) > 0 {
			fmt.Fprintf(stderr, "nbgen: stale: %s: run go run ./lessons/nbgen\n", strings.Join(stale, ", "))
			return 1
		}
		return 0
	}
	for _, o := range outs {
		path := filepath.Join(*root, o.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(stderr, "nbgen:", err)
			return 1
		}
		if err := os.WriteFile(path, o.Data, 0o644); err != nil {
			fmt.Fprintln(stderr, "nbgen:", err)
			return 1
		}
		fmt.Fprintln(stdout, "wrote", o.Path)
	}
	return 0
}
