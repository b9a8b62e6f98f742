package nbrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/kernel/install"
)

// ErrNoNbclient is wrapped by [FindPython]'s error when no Python can import nbclient.
var ErrNoNbclient = errors.New("no Python with nbclient found")

// getenv looks key up in env (last assignment wins, as in exec.Cmd).
func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// KernelDirs lists where Jupyter looks for kernelspecs, in its order of preference:
// $JUPYTER_PATH entries, the user data dir, then the system dirs.
func KernelDirs(env []string) []string {
	var dirs []string
	for _, d := range filepath.SplitList(getenv(env, "JUPYTER_PATH")) {
		if d != "" {
			dirs = append(dirs, filepath.Join(d, "kernels"))
		}
	}
	if d := getenv(env, "JUPYTER_DATA_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "kernels"))
	} else if d, err := install.JupyterDataDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "kernels"))
	}
	return append(dirs, "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels")
}

// FindSpec reads the kernelspec called name the way Jupyter would find it with env.
func FindSpec(name string, env []string) (*install.Kernelspec, string, error) {
	dirs := KernelDirs(env)
	for _, d := range dirs {
		data, err := fileio.ReadFile(filepath.Join(d, name, "kernel.json"), fileio.MaxJSON)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("kernelspec: %w", err)
		}
		var spec install.Kernelspec
		if err := json.Unmarshal(data, &spec); err != nil {
			return nil, "", fmt.Errorf("kernelspec %s: %w", filepath.Join(d, name), err)
		}
		return &spec, filepath.Join(d, name), nil
	}
	return nil, "", fmt.Errorf("kernel %q is not installed (looked in %s): run `divellm kernel install`", name, strings.Join(dirs, ", "))
}

// FindPython returns the first Python that can import nbclient and nbformat, trying
// $DIVELLM_PYTHON, the interpreters of jupyter-lab / jupyter-notebook / jupyter on PATH,
// /usr/bin/python3 and python3 on PATH. (Asking the interpreter behind `jupyter` finds
// pip's, conda's and Debian's installs alike; a bare python3 may be another Python, such
// as pyenv's, that has no Jupyter.)
func FindPython(ctx context.Context) (string, error) {
	var cands []string
	if p := os.Getenv("DIVELLM_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	for _, prog := range []string{"jupyter-lab", "jupyter-notebook", "jupyter"} {
		if path, err := exec.LookPath(prog); err == nil {
			if interp := shebang(path); interp != "" {
				cands = append(cands, interp)
			}
		}
	}
	cands = append(cands, "/usr/bin/python3")
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := exec.CommandContext(cctx, c, "-c", "import nbclient, nbformat").Run()
		cancel()
		if err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w (tried %s): install Jupyter (%s) or set DIVELLM_PYTHON",
		ErrNoNbclient, strings.Join(cands, ", "), "pip install jupyterlab, or apt-get install python3-nbclient jupyter-notebook")
}

// shebang returns the interpreter named on path's #! line, resolving "/usr/bin/env prog".
func shebang(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 512)).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "#!") {
		return ""
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return ""
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		p, err := exec.LookPath(fields[len(fields)-1])
		if err != nil {
			return ""
		}
		return p
	}
	return fields[0]
}

// importRE matches an import path of this module inside a Go cell.
var importRE = regexp.MustCompile(`"(` + regexp.QuoteMeta(install.ModulePath) + `(?:/[A-Za-z0-9_./-]+)?)"`)

// NotebookImports returns the divellm packages imported by the notebooks' code cells.
func NotebookImports(notebooks []string) ([]string, error) {
	set := map[string]bool{}
	for _, p := range notebooks {
		data, err := fileio.ReadFile(p, MaxNotebookBytes)
		if err != nil {
			return nil, err
		}
		var nb struct {
			Cells []struct {
				CellType string          `json:"cell_type"`
				Source   json.RawMessage `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(data, &nb); err != nil {
			return nil, fmt.Errorf("%s: not a notebook: %w", p, err)
		}
		for _, c := range nb.Cells {
			if c.CellType != "code" {
				continue
			}
			for _, m := range importRE.FindAllStringSubmatch(sourceText(c.Source), -1) {
				set[m[1]] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// sourceText decodes a cell source, stored as a string or a list of lines.
func sourceText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	_ = json.Unmarshal(raw, &lines)
	return strings.Join(lines, "")
}

// WarmBuildCache compiles the divellm packages the notebooks import, with the kernel's
// environment (GOEXPERIMENT, GOFLAGS, the same go command), so that the first cell of each
// notebook finds them in the Go build cache. The checkout is the kernel's --go_work dir.
func WarmBuildCache(ctx context.Context, spec *install.Kernelspec, notebooks []string, env []string, log io.Writer) error {
	pkgs, err := NotebookImports(notebooks)
	if err != nil || len(pkgs) == 0 {
		return err
	}
	root := ""
	for _, a := range spec.Argv {
		if v, ok := strings.CutPrefix(a, "--go_work="); ok {
			root, _, _ = strings.Cut(v, ",")
		}
	}
	if root == "" {
		return errors.New("kernelspec has no --go_work checkout")
	}
	kenv := append([]string{}, env...)
	for k, v := range spec.Env {
		kenv = append(kenv, k+"="+v)
	}
	goCmd := "go"
	for _, d := range filepath.SplitList(getenv(kenv, "PATH")) {
		if fi, err := os.Stat(filepath.Join(d, "go")); err == nil && !fi.IsDir() {
			goCmd = filepath.Join(d, "go")
			break
		}
	}
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"build"}, pkgs...)...)
	cmd.Dir, cmd.Env = root, kenv
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, tail(string(out), 2000))
	}
	fmt.Fprintf(log, "build cache warm for %d package(s) in %.1fs\n", len(pkgs), time.Since(t0).Seconds())
	return nil
}
