package main

import (
	"context"
	"errors"
	"flag"
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
	register("kernel", "set up the Go notebook kernel: kernel install | lab | spec | check", kernelCmd)
}

const kernelUsage = `usage: divellm kernel install [--backend B] [--raw-error] [--bin-dir D] [--data-dir D]
       divellm kernel lab [--ip 127.0.0.1] [--port 8888] [--no-browser] [--check] [install flags]
       divellm kernel spec [install flags]
       divellm kernel check [--tests]`

func kernelCmd(args []string, w io.Writer) error {
	if len(args) == 0 {
		return usagef("%s", kernelUsage)
	}
	switch args[0] {
	case "install":
		return kernelInstall(args[1:], w)
	case "lab":
		return kernelLab(args[1:], w)
	case "spec":
		return kernelSpec(args[1:], w)
	case "check":
		return kernelCheck(args[1:], w)
	}
	return usagef("unknown kernel subcommand %q\n%s", args[0], kernelUsage)
}

// installFlags adds the flags shared by install, lab and spec.
func installFlags(name string) (*installOpts, func([]string) ([]string, error)) {
	fs := newFlags("kernel " + name)
	o := &installOpts{fs: fs}
	fs.StringVar(&o.Backend, "backend", install.DefaultBackend, "GOMLX_BACKEND for notebook cells (e.g. xla:cpu with the XLA plugin installed)")
	fs.BoolVar(&o.RawError, "raw-error", false, "plain-text errors instead of HTML (for logs)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "where to build gonb, gopls, goimports (default ROOT/bin/kernel)")
	fs.StringVar(&o.DataDir, "data-dir", "", "Jupyter data dir (default $JUPYTER_DATA_DIR or ~/.local/share/jupyter)")
	fs.StringVar(&o.Name, "name", install.KernelName, "kernelspec name")
	return o, func(a []string) ([]string, error) { return parseFlags(fs, a) }
}

type installOpts struct {
	install.Options
	fs *flag.FlagSet
}

func kernelInstall(args []string, w io.Writer) error {
	o, parse := installFlags("install")
	rest, err := parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("kernel install takes no arguments, got %q", rest)
	}
	_, err = runInstall(o.Options, w)
	return err
}

func runInstall(opts install.Options, w io.Writer) (*install.Result, error) {
	opts.Log = w
	res, err := install.Install(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	built := "tools up to date"
	if res.Built {
		built = fmt.Sprintf("tools built in %.1fs", res.BuildTime.Seconds())
	}
	fmt.Fprintf(w, "kernel %q ready (%s, total %.1fs). Cells import github.com/divellm/divellm/... from %s\n",
		install.DisplayName, built, res.Total.Seconds(), res.Root)
	if !install.JupyterOnPath() {
		fmt.Fprintf(w, "note: %s\n", install.HowToGetJupyter)
	}
	return res, nil
}

func kernelSpec(args []string, w io.Writer) error {
	o, parse := installFlags("spec")
	if _, err := parse(args); err != nil {
		return err
	}
	spec, err := install.Spec(o.Options)
	if err != nil {
		return err
	}
	_, err = w.Write(spec.JSON())
	return err
}

func kernelLab(args []string, w io.Writer) error {
	o, parse := installFlags("lab")
	var lab install.LabOptions
	var check, noInstall bool
	fs := o.fs
	fs.StringVar(&lab.IP, "ip", "127.0.0.1", "address to listen on")
	fs.IntVar(&lab.Port, "port", 8888, "port to listen on")
	fs.BoolVar(&lab.NoBrowser, "no-browser", false, "do not open a web browser")
	fs.BoolVar(&check, "check", false, "only check that Jupyter is installed")
	fs.BoolVar(&noInstall, "no-install", false, "skip the (idempotent) kernel install")
	rest, err := parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("kernel lab takes no arguments, got %q", rest)
	}
	front, err := install.FindJupyter(context.Background())
	if err != nil {
		return err
	}
	if check {
		fmt.Fprintf(w, "found %s %s (%s)\n", front.Name, front.Version, front.Path)
		return nil
	}
	root := o.Root
	if !noInstall {
		res, err := runInstall(o.Options, w)
		if err != nil {
			return err
		}
		root = res.Root
	} else if root == "" {
		if root, err = install.FindRoot("."); err != nil {
			return err
		}
	}
	lab.NotebookDir = filepath.Join(root, "notebooks")
	argv := front.Argv(lab)
	fmt.Fprintf(w, "starting %s %s on http://%s:%d (Ctrl-C to stop): %v\n", front.Name, front.Version, lab.IP, lab.Port, argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Jupyter handles Ctrl-C itself (it asks before shutting down); do not die before it.
	signal.Ignore(os.Interrupt)
	start := time.Now()
	err = cmd.Run()
	if err != nil {
		return fmt.Errorf("%s exited after %s: %w", front.Name, time.Since(start).Round(time.Second), err)
	}
	return nil
}

// kernelCheck reports what the notebook setup has and lacks. With --tests it prints one
// line and fails only on what the notebook tests need (the Makefile calls it so that a
// skipped notebook test is visible in `make test`'s output).
func kernelCheck(args []string, w io.Writer) error {
	fs := newFlags("kernel check")
	forTests := fs.Bool("tests", false, "only check what the notebook tests need; one line")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("kernel check takes no arguments")
	}
	ctx := context.Background()
	var missing []string
	toolsErr := install.CheckTools(install.Options{})
	if toolsErr != nil {
		missing = append(missing, toolsErr.Error())
	}
	py, pyErr := nbrun.FindPython(ctx)
	if pyErr != nil {
		missing = append(missing, pyErr.Error())
	} else if err := exec.CommandContext(ctx, py, "-c", "import jupyter_kernel_test").Run(); err != nil {
		missing = append(missing, py+" cannot import jupyter_kernel_test (apt-get install python3-jupyter-kernel-test)")
	}
	if *forTests {
		if len(missing) > 0 {
			fmt.Fprintf(w, "notebook tests will be SKIPPED (DIVELLM_REQUIRE_NOTEBOOKS=1 makes that a failure): %s\n", strings.Join(missing, "; "))
			return errors.New("notebook tests cannot run")
		}
		fmt.Fprintf(w, "notebook tests: ready (tools in bin/kernel, %s with nbclient and jupyter_kernel_test)\n", py)
		return nil
	}
	line := func(what, state string) { fmt.Fprintf(w, "%-13s %s\n", what, state) }
	if out, err := exec.Command("go", "version").Output(); err == nil {
		line("go", strings.TrimSpace(string(out)))
	} else {
		line("go", "MISSING: install Go 1.26 from https://go.dev/dl")
	}
	if toolsErr != nil {
		line("pinned tools", "MISSING: "+toolsErr.Error())
	} else {
		line("pinned tools", "ok (gonb, gopls, goimports in bin/kernel)")
	}
	if spec, dir, err := nbrun.FindSpec(install.KernelName, os.Environ()); err != nil {
		line("kernelspec", "MISSING: run `divellm kernel install`")
	} else if want, err := install.Spec(install.Options{}); err == nil && spec.Argv[0] != want.Argv[0] {
		line("kernelspec", fmt.Sprintf("%s runs %s, not this checkout's: run `divellm kernel install`", dir, spec.Argv[0]))
	} else {
		line("kernelspec", "ok ("+dir+")")
	}
	if f, err := install.FindJupyter(ctx); err != nil {
		line("jupyter", "MISSING: "+strings.ReplaceAll(err.Error(), "\n", "\n              "))
	} else {
		line("jupyter", fmt.Sprintf("ok (%s %s)", f.Name, f.Version))
	}
	if pyErr != nil {
		line("nbclient", "MISSING: "+pyErr.Error())
	} else {
		line("nbclient", "ok ("+py+"; divellm run uses it)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("notebook tests cannot run: %s", strings.Join(missing, "; "))
	}
	return nil
}
