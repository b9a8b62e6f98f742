package main

import (
	"context"
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
	define(&command{name: "run", summary: "execute notebooks headlessly on the Go kernel (one line per cell; executed copies kept)",
		usage: "[--out DIR] [--timeout D] NOTEBOOK.ipynb...", run: runCmd})
}

// runResult is the summary of `divellm run`.
type runResult struct{ *nbrun.Summary }

func (r runResult) MarshalJSON() ([]byte, error) { return marshalNoEscape(r.Summary) }

func (r runResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%d notebook(s) in %.1fs (build cache warm-up %.1fs)\n", len(r.Notebooks), r.Seconds, r.WarmSeconds)
	return err
}

func runCmd(c *cmdCtx) (any, error) {
	out := c.String("out", "", "directory for the executed copies (default ROOT/.cache/run)")
	kernel := c.String("kernel", install.KernelName, "kernelspec name")
	timeout := c.Duration("timeout", 10*time.Minute, "limit for one cell")
	noWarm := c.Bool("no-warm", false, "do not pre-compile the imported divellm packages")
	paths, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, usagef("usage: divellm run [--out DIR] [--json] [--timeout D] NOTEBOOK.ipynb...")
	}
	for _, p := range paths {
		if filepath.Ext(p) != ".ipynb" {
			return nil, usagef("%s is not a .ipynb notebook", p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !st.Mode().IsRegular() {
			return nil, usagef("%s is %s, not a notebook file", p, fileKind(st.Mode()))
		}
	}
	// Progress lines go to stdout, or to stderr under --json.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sum, err := nbrun.Run(ctx, paths, nbrun.Options{
		Kernel: *kernel, OutDir: *out, CellTimeout: *timeout, NoWarm: *noWarm, Progress: c.log(),
	})
	if err != nil {
		return nil, err
	}
	if !sum.OK {
		failed := 0
		for i := range sum.Notebooks {
			if !sum.Notebooks[i].OK() {
				failed++
			}
		}
		return runResult{sum}, fmt.Errorf("%d of %d notebook(s) failed", failed, len(sum.Notebooks))
	}
	return runResult{sum}, nil
}
