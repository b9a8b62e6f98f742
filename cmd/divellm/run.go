package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/divellm/divellm/kernel/install"
	"github.com/divellm/divellm/kernel/nbrun"
)

func init() {
	register("run", "execute notebooks headlessly on the Go kernel: run [--out DIR] [--json] NOTEBOOK...", runCmd)
}

func runCmd(args []string, w io.Writer) error {
	fs := newFlags("run")
	out := fs.String("out", "", "directory for the executed copies (default ROOT/.cache/run)")
	kernel := fs.String("kernel", install.KernelName, "kernelspec name")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for one cell")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout (progress goes to stderr)")
	noWarm := fs.Bool("no-warm", false, "do not pre-compile the imported divellm packages")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("usage: divellm run [--out DIR] [--json] [--timeout D] NOTEBOOK.ipynb...")
	}
	for _, p := range paths {
		if filepath.Ext(p) != ".ipynb" {
			return usagef("run: %s is not a .ipynb notebook", p)
		}
		if _, err := os.Stat(p); err != nil {
			return usagef("run: %v", err)
		}
	}
	progress := w
	if *asJSON {
		progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sum, err := nbrun.Run(ctx, paths, nbrun.Options{
		Kernel: *kernel, OutDir: *out, CellTimeout: *timeout, NoWarm: *noWarm, Progress: progress,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%d notebook(s) in %.1fs (build cache warm-up %.1fs)\n", len(sum.Notebooks), sum.Seconds, sum.WarmSeconds)
	}
	if !sum.OK {
		failed := 0
		for i := range sum.Notebooks {
			if !sum.Notebooks[i].OK() {
				failed++
			}
		}
		return fmt.Errorf("%d of %d notebook(s) failed", failed, len(sum.Notebooks))
	}
	return nil
}
