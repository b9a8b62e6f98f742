package main

import (
	"context"
	"flag"
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
	explicit := false
	c.fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "kernel" })
	var env []string
	if !explicit {
		if env, err = checkoutKernel(ctx, paths[0], c.log()); err != nil {
			return nil, err
		}
	}
	sum, err := nbrun.Run(ctx, paths, nbrun.Options{
		Kernel: *kernel, OutDir: *out, CellTimeout: *timeout, NoWarm: *noWarm, Progress: c.log(), Env: env,
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

// checkoutKernel makes sure the notebooks run against the checkout that holds them. The
// installed "Go (divellm)" kernelspec points at one checkout (the last `kernel install`);
// when the notebook lives in another one (a second clone, a git worktree), running it on
// that kernel would compile its cells against the other checkout's code. Then a private
// kernelspec for the notebook's checkout is written under ROOT/.cache/jupyter (building
// the kernel tools there if needed), and the returned environment points Jupyter at it.
// Nothing is returned when the installed kernel already serves this checkout, or when the
// notebook is not inside a divellm checkout.
func checkoutKernel(ctx context.Context, notebook string, log io.Writer) ([]string, error) {
	root, err := install.FindRoot(filepath.Dir(notebook))
	if err != nil {
		return nil, nil
	}
	if spec, _, err := nbrun.FindSpec(install.KernelName, os.Environ()); err == nil {
		if r, _ := spec.Metadata["divellm_root"].(string); r != "" && samePath(r, root) {
			return nil, nil
		}
	}
	data := filepath.Join(root, ".cache", "jupyter")
	if _, err := install.Install(ctx, install.Options{Root: root, DataDir: data, RawError: true}); err != nil {
		return nil, fmt.Errorf("kernel for %s: %w", root, err)
	}
	fmt.Fprintf(log, "the installed kernel does not serve %s: using its own kernelspec in %s\n", root, data)
	path := data
	if p := os.Getenv("JUPYTER_PATH"); p != "" {
		path += string(os.PathListSeparator) + p
	}
	return []string{"JUPYTER_PATH=" + path}, nil
}

// samePath reports whether a and b name the same directory.
func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
