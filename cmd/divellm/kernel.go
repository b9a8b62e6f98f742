package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/divellm/divellm/kernel/install"
)

func init() {
	register("kernel", "set up the Go notebook kernel: kernel install | lab | spec", kernelCmd)
}

const kernelUsage = `usage: divellm kernel install [--backend B] [--raw-error] [--bin-dir D] [--data-dir D]
       divellm kernel lab [--ip 127.0.0.1] [--port 8888] [--no-browser] [--check] [install flags]
       divellm kernel spec [install flags]`

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
