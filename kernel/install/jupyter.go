package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Frontend is a Jupyter user interface found on this machine.
type Frontend struct {
	// Name is "JupyterLab" or "Jupyter Notebook".
	Name string
	// Path is the program (jupyter-lab or jupyter-notebook).
	Path string
	// Version is what `Path --version` printed.
	Version string
}

// HowToGetJupyter is the message shown when no Jupyter front end is installed: several
// lines, printed as normal output (errors stay on one line, see [FindJupyter]).
const HowToGetJupyter = `Jupyter is not installed (neither jupyter-lab nor jupyter-notebook runs). Get it one of these ways, then run 'make lab' again:
  pip install jupyterlab                              # JupyterLab, any OS with Python 3
  sudo apt-get install jupyter-notebook               # Debian/Ubuntu: the classic notebook
  docker compose -f docker/compose.yaml up            # everything in a container (Go, Jupyter, kernel)`

// FindJupyter returns JupyterLab if it runs, else the classic notebook. It runs each
// candidate with --version rather than trusting PATH, because version managers (pyenv)
// put shims on PATH for programs the active Python lacks. The error wraps [ErrNoJupyter]
// and names the three ways to get Jupyter on one line; show [HowToGetJupyter] beside it
// for the same advice laid out on several lines.
func FindJupyter(ctx context.Context) (*Frontend, error) {
	for _, c := range []struct{ name, prog string }{
		{"JupyterLab", "jupyter-lab"},
		{"Jupyter Notebook", "jupyter-notebook"},
	} {
		path, err := exec.LookPath(c.prog)
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, path, "--version").Output()
		cancel()
		if err != nil {
			continue
		}
		return &Frontend{Name: c.name, Path: path, Version: strings.TrimSpace(string(out))}, nil
	}
	return nil, fmt.Errorf("%w: neither jupyter-lab nor jupyter-notebook runs; get it with `pip install jupyterlab` or `sudo apt-get install jupyter-notebook`, or run everything with `docker compose -f docker/compose.yaml up`", ErrNoJupyter)
}

// JupyterOnPath reports whether jupyter-lab or jupyter-notebook is on PATH, without
// running it (a quick hint; [FindJupyter] is the real check).
func JupyterOnPath() bool {
	for _, prog := range []string{"jupyter-lab", "jupyter-notebook"} {
		if _, err := exec.LookPath(prog); err == nil {
			return true
		}
	}
	return false
}

// LabOptions says where and how to serve the notebooks.
type LabOptions struct {
	// NotebookDir is the folder the UI opens on.
	NotebookDir string
	// IP to listen on; default 127.0.0.1 (only this machine). The Docker image uses 0.0.0.0
	// inside the container and publishes the port on the host's 127.0.0.1.
	IP string
	// Port to listen on; default 8888.
	Port int
	// NoBrowser stops Jupyter from opening a web browser.
	NoBrowser bool
}

// Argv returns the command line that starts f with o.
func (f *Frontend) Argv(o LabOptions) []string {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 8888
	}
	argv := []string{f.Path, "--ip=" + o.IP, "--port=" + strconv.Itoa(o.Port)}
	if o.NotebookDir != "" {
		argv = append(argv, "--notebook-dir="+o.NotebookDir)
	}
	if o.NoBrowser {
		argv = append(argv, "--no-browser")
	}
	if os.Geteuid() == 0 {
		// Jupyter refuses to start as root (as in Docker and CI) without this flag.
		argv = append(argv, "--allow-root")
	}
	return argv
}
