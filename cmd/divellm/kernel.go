package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/divellm/divellm/kernel/install"
	"github.com/divellm/divellm/kernel/nbrun"
)

func init() {
	define(&command{name: "kernel", summary: "set up the Go notebook kernel: kernel install | lab | spec | check",
		usage: "install|lab|spec|check [flags]", subs: map[string]*command{}, subNoun: "kernel subcommand"})
	defineSub("kernel", &command{name: "install", summary: "build the pinned GoNB tools and install the \"Go (divellm)\" kernelspec (idempotent)",
		usage: "[--backend B] [--raw-error] [--bin-dir D] [--data-dir D]", run: kernelInstall})
	defineSub("kernel", &command{name: "lab", summary: "install the kernel, then start JupyterLab (or Notebook) on notebooks/",
		usage: "[--ip 127.0.0.1] [--port 8888] [--no-browser] [--check] [install flags]", run: kernelLab})
	defineSub("kernel", &command{name: "spec", summary: "print the kernel.json that install writes",
		usage: "[install flags]", run: kernelSpec})
	defineSub("kernel", &command{name: "check", summary: "report what the notebook setup has and lacks",
		usage: "[--tests]", run: kernelCheck})
}

// installFlags declares the flags shared by install, lab and spec; the returned function
// gives their values after Parse.
func installFlags(c *cmdCtx) func() install.Options {
	backend := c.String("backend", install.DefaultBackend, "GOMLX_BACKEND for notebook cells (e.g. xla:cpu with the XLA plugin installed)")
	rawError := c.Bool("raw-error", false, "plain-text errors instead of HTML (for logs)")
	binDir := c.String("bin-dir", "", "where to build gonb, gopls, goimports (default ROOT/bin/kernel)")
	dataDir := c.String("data-dir", "", "Jupyter data dir (default $JUPYTER_DATA_DIR or ~/.local/share/jupyter)")
	name := c.String("name", install.KernelName, "kernelspec name")
	return func() install.Options {
		return install.Options{Backend: *backend, RawError: *rawError, BinDir: *binDir, DataDir: *dataDir, Name: *name}
	}
}

// installResult is the result of `divellm kernel install` (and lab's install step).
type installResult struct {
	Kernel       string  `json:"kernel"`
	Root         string  `json:"root"`
	SpecPath     string  `json:"spec_path"`
	Built        bool    `json:"built"`
	BuildSeconds float64 `json:"build_seconds"`
	TotalSeconds float64 `json:"total_seconds"`
	Jupyter      bool    `json:"jupyter"` // a Jupyter front end is on PATH
}

func (r installResult) writeText(w io.Writer) error {
	built := "tools up to date"
	if r.Built {
		built = fmt.Sprintf("tools built in %.1fs", r.BuildSeconds)
	}
	fmt.Fprintf(w, "kernel %q ready (%s, total %.1fs). Cells import github.com/divellm/divellm/... from %s\n",
		install.DisplayName, built, r.TotalSeconds, r.Root)
	if !r.Jupyter {
		fmt.Fprintf(w, "note: %s\n", install.HowToGetJupyter)
	}
	return nil
}

func kernelInstall(c *cmdCtx) (any, error) {
	o := installFlags(c)
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("kernel install takes no arguments, got %q", rest)
	}
	return runInstall(o(), c.log())
}

func runInstall(opts install.Options, log io.Writer) (installResult, error) {
	opts.Log = log
	res, err := install.Install(context.Background(), opts)
	if err != nil {
		return installResult{}, err
	}
	return installResult{Kernel: install.DisplayName, Root: res.Root, SpecPath: res.SpecPath, Built: res.Built,
		BuildSeconds: res.BuildTime.Seconds(), TotalSeconds: res.Total.Seconds(), Jupyter: install.JupyterOnPath()}, nil
}

// specResult is the kernel.json of `divellm kernel spec`: indented as the file in text
// form, one line with --json.
type specResult struct{ spec *install.Kernelspec }

func (s specResult) MarshalJSON() ([]byte, error) { return marshalNoEscape(s.spec) }
func (s specResult) writeText(w io.Writer) error {
	_, err := w.Write(s.spec.JSON())
	return err
}

func kernelSpec(c *cmdCtx) (any, error) {
	o := installFlags(c)
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("kernel spec takes no arguments, got %q", rest)
	}
	spec, err := install.Spec(o())
	if err != nil {
		return nil, err
	}
	return specResult{spec}, nil
}

// labFound is the result of `divellm kernel lab --check`.
type labFound struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Path    string `json:"path"`
}

func (f labFound) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "found %s %s (%s)\n", f.Name, f.Version, f.Path)
	return err
}

func kernelLab(c *cmdCtx) (any, error) {
	o := installFlags(c)
	var lab install.LabOptions
	ip := c.String("ip", "127.0.0.1", "address to listen on")
	port := c.Int("port", 8888, 1, 65535, "port to listen on")
	noBrowser := c.Bool("no-browser", false, "do not open a web browser")
	check := c.Bool("check", false, "only check that Jupyter is installed")
	noInstall := c.Bool("no-install", false, "skip the (idempotent) kernel install")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("kernel lab takes no arguments, got %q", rest)
	}
	lab.IP, lab.Port, lab.NoBrowser = *ip, *port, *noBrowser
	front, err := install.FindJupyter(context.Background())
	if err != nil {
		if errors.Is(err, install.ErrNoJupyter) {
			// The instructions keep their lines on stdout; the error stays one line.
			fmt.Fprintln(c.log(), install.HowToGetJupyter)
		}
		return nil, err
	}
	if *check {
		return labFound{Name: front.Name, Version: front.Version, Path: front.Path}, nil
	}
	root := ""
	if !*noInstall {
		res, err := runInstall(o(), c.log())
		if err != nil {
			return nil, err
		}
		res.writeText(c.log())
		root = res.Root
	} else {
		if root, err = install.FindRoot("."); err != nil {
			return nil, err
		}
	}
	lab.NotebookDir = filepath.Join(root, "notebooks")
	argv := front.Argv(lab)
	fmt.Fprintf(c.log(), "starting %s %s on http://%s:%d (Ctrl-C to stop): %v\n", front.Name, front.Version, lab.IP, lab.Port, argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.log(), c.stderr
	// Jupyter handles Ctrl-C itself (it asks before shutting down); do not die before it.
	signal.Ignore(os.Interrupt)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s exited after %s: %w", front.Name, time.Since(start).Round(time.Second), err)
	}
	return nil, nil
}

// checkResult is the report of `divellm kernel check`: one line per part of the setup.
type checkResult struct {
	Parts   []checkPart `json:"parts"`
	Missing []string    `json:"missing"` // what the notebook tests lack
	tests   bool        // --tests: one line
	python  string
}

type checkPart struct {
	What  string `json:"what"`
	OK    bool   `json:"ok"`
	State string `json:"state"`
}

func (r checkResult) writeText(w io.Writer) error {
	if r.tests {
		if len(r.Missing) > 0 {
			_, err := fmt.Fprintf(w, "notebook tests will be SKIPPED (DIVELLM_REQUIRE_NOTEBOOKS=1 makes that a failure): %s\n", strings.Join(r.Missing, "; "))
			return err
		}
		_, err := fmt.Fprintf(w, "notebook tests: ready (tools in bin/kernel, %s with nbclient and jupyter_kernel_test)\n", r.python)
		return err
	}
	for _, p := range r.Parts {
		state := p.State
		if !p.OK {
			state = "MISSING: " + state
		}
		fmt.Fprintf(w, "%-13s %s\n", p.What, strings.ReplaceAll(state, "\n", "\n"+strings.Repeat(" ", 14)))
	}
	return nil
}

// kernelCheck reports what the notebook setup has and lacks. With --tests it prints one
// line and fails only on what the notebook tests need (the Makefile calls it so that a
// skipped notebook test is visible in `make test`'s output).
func kernelCheck(c *cmdCtx) (any, error) {
	forTests := c.Bool("tests", false, "only check what the notebook tests need; one line")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("kernel check takes no arguments")
	}
	ctx := context.Background()
	r := checkResult{tests: *forTests}
	toolsErr := install.CheckTools(install.Options{})
	if toolsErr != nil {
		r.Missing = append(r.Missing, toolsErr.Error())
	}
	py, pyErr := nbrun.FindPython(ctx)
	r.python = py
	if pyErr != nil {
		r.Missing = append(r.Missing, pyErr.Error())
	} else if err := exec.CommandContext(ctx, py, "-c", "import jupyter_kernel_test").Run(); err != nil {
		r.Missing = append(r.Missing, py+" cannot import jupyter_kernel_test (apt-get install python3-jupyter-kernel-test)")
	}
	if *forTests {
		if len(r.Missing) > 0 {
			return r, errors.New("notebook tests cannot run")
		}
		return r, nil
	}
	part := func(what string, ok bool, state string) {
		r.Parts = append(r.Parts, checkPart{What: what, OK: ok, State: state})
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		part("go", true, strings.TrimSpace(string(out)))
	} else {
		part("go", false, "install Go 1.26 from https://go.dev/dl")
	}
	if toolsErr != nil {
		part("pinned tools", false, toolsErr.Error())
	} else {
		part("pinned tools", true, "ok (gonb, gopls, goimports in bin/kernel)")
	}
	if spec, dir, err := nbrun.FindSpec(install.KernelName, os.Environ()); err != nil {
		part("kernelspec", false, "run `divellm kernel install`")
	} else if want, err := install.Spec(install.Options{}); err == nil && spec.Argv[0] != want.Argv[0] {
		part("kernelspec", false, fmt.Sprintf("%s runs %s, not this checkout's: run `divellm kernel install`", dir, spec.Argv[0]))
	} else {
		part("kernelspec", true, "ok ("+dir+")")
	}
	if f, err := install.FindJupyter(ctx); errors.Is(err, install.ErrNoJupyter) {
		part("jupyter", false, install.HowToGetJupyter)
	} else if err != nil {
		part("jupyter", false, err.Error())
	} else {
		part("jupyter", true, fmt.Sprintf("ok (%s %s)", f.Name, f.Version))
	}
	if pyErr != nil {
		part("nbclient", false, pyErr.Error())
	} else {
		part("nbclient", true, "ok ("+py+"; divellm run uses it)")
	}
	if len(r.Missing) > 0 {
		return r, fmt.Errorf("notebook tests cannot run: %s", strings.Join(r.Missing, "; "))
	}
	return r, nil
}
