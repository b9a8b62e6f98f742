package nbrun

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/divellm/divellm/kernel/install"
)

func TestCellFailed(t *testing.T) {
	ok := Cell{}
	bad := Cell{Errors: []CellError{{Name: "ERROR", Value: "exit status 2"}}}
	expected := Cell{Errors: bad.Errors, Tags: []string{"other", AllowErrorTag}}
	if ok.Failed() || !bad.Failed() || expected.Failed() {
		t.Fatalf("Failed: ok %v bad %v expected %v; want false true false", ok.Failed(), bad.Failed(), expected.Failed())
	}
	nb := Notebook{Cells: []Cell{ok, expected}}
	if !nb.OK() {
		t.Error("notebook with only an expected error should be OK")
	}
	nb.Cells = append(nb.Cells, bad)
	if nb.OK() || len(nb.FailedCells()) != 1 {
		t.Errorf("notebook with an untagged error: OK %v failed %d", nb.OK(), len(nb.FailedCells()))
	}
	if (&Notebook{Fatal: "DeadKernelError"}).OK() {
		t.Error("fatal notebook reported OK")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{nil, 90, 0}, {[]float64{3}, 90, 3}, {[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9.1},
		{[]float64{5, 1, 3}, 50, 3}, {[]float64{4, 1, 3, 2}, 0, 1}, {[]float64{4, 1, 3, 2}, 100, 4},
	} {
		if got := Percentile(c.xs, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.xs, c.p, got, c.want)
		}
	}
	nb := Notebook{Cells: []Cell{{Seconds: 0.2}, {Seconds: 0.4}, {Seconds: 1.6}}}
	if m, p := nb.MedianCellSeconds(), nb.P90CellSeconds(); m != 0.4 || math.Abs(p-1.36) > 1e-12 {
		t.Errorf("median %v p90 %v, want 0.4 and 1.36", m, p)
	}
}

func TestNotebookImports(t *testing.T) {
	got, err := NotebookImports([]string{"testdata/imports.ipynb"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"github.com/divellm/divellm/llm/backend", "github.com/divellm/divellm/viz"}
	if !slices.Equal(got, want) {
		t.Fatalf("imports = %q, want %q", got, want)
	}
	if _, err := NotebookImports([]string{"nbrun.go"}); err == nil {
		t.Error("a Go file parsed as a notebook")
	}
}

func writeSpec(t *testing.T, dataDir, name string) {
	t.Helper()
	spec := &install.Kernelspec{Argv: []string{"/bin/false", "--go_work=/nonexistent"}, DisplayName: name, Language: "go",
		Env: map[string]string{"GOMLX_BACKEND": install.DefaultBackend}}
	if _, err := install.WriteSpec(filepath.Join(dataDir, "kernels", name), spec); err != nil {
		t.Fatal(err)
	}
}

func TestFindSpec(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeSpec(t, b, "k")
	env := []string{"JUPYTER_PATH=" + a + string(os.PathListSeparator) + b, "JUPYTER_DATA_DIR=" + t.TempDir()}
	spec, dir, err := FindSpec("k", env)
	if err != nil || dir != filepath.Join(b, "kernels", "k") || spec.DisplayName != "k" {
		t.Fatalf("FindSpec = %+v, %q, %v", spec, dir, err)
	}
	if _, _, err := FindSpec("missing", env); err == nil || !strings.Contains(err.Error(), "divellm kernel install") {
		t.Fatalf("missing kernel: %v", err)
	}
}

func TestShebang(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "jupyter")
	os.WriteFile(p, []byte("#!/opt/venv/bin/python3 -I\nimport sys\n"), 0o755)
	if got := shebang(p); got != "/opt/venv/bin/python3" {
		t.Errorf("shebang = %q", got)
	}
	os.WriteFile(p, []byte("#!/usr/bin/env sh\n"), 0o755)
	if got := shebang(p); !strings.HasSuffix(got, "/sh") {
		t.Errorf("env shebang = %q, want a path to sh", got)
	}
	os.WriteFile(p, []byte("\x7fELF"), 0o755)
	if got := shebang(p); got != "" {
		t.Errorf("binary shebang = %q", got)
	}
}

// fakePython writes a script standing in for `python3 -c nbrun.py CFG`: it prints the
// given event lines, so Run's parsing and verdicts can be tested without Jupyter.
func fakePython(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python")
	body := "#!/bin/sh\ncat <<'EOF'\n" + strings.Join(lines, "\n") + "\nEOF\n"
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunParsesEvents(t *testing.T) {
	data := t.TempDir()
	writeSpec(t, data, "fake")
	nb := filepath.Join(t.TempDir(), "a.ipynb")
	os.WriteFile(nb, []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`), 0o644)
	py := fakePython(t,
		`{"event": "start", "notebook": 0, "kernel_seconds": 0.5}`,
		`noise a library printed`,
		`{"event": "cell", "notebook": 0, "index": 0, "seconds": 0.25, "first_line": "%noautoget", "errors": []}`,
		`{"event": "cell", "notebook": 0, "index": 2, "seconds": 0.75, "first_line": "panic(1)", "tags": ["raises-exception"], "errors": [{"ename": "ERROR", "evalue": "exit status 2"}]}`,
		`{"event": "cell", "notebook": 0, "index": 3, "seconds": 1.5, "first_line": "x := y", "errors": [{"ename": "ERROR", "evalue": "go build"}], "error_text": "undefined: y"}`,
		`{"event": "end", "notebook": 0, "seconds": 3.0, "fatal": ""}`,
	)
	var log strings.Builder
	out := t.TempDir()
	sum, err := Run(context.Background(), []string{nb}, Options{Kernel: "fake", Python: py, OutDir: out,
		Env: []string{"JUPYTER_PATH=" + data}, NoWarm: true, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK {
		t.Error("summary OK despite an untagged error")
	}
	n := sum.Notebooks[0]
	if n.Out != filepath.Join(out, "a.ipynb") || n.KernelSeconds != 0.5 || n.Seconds != 3 || len(n.Cells) != 3 {
		t.Fatalf("notebook = %+v", n)
	}
	if n.Cells[1].Seconds != 0.75 || n.MedianCellSeconds() != 0.75 {
		t.Errorf("cell seconds %v, median %v; want 0.75, 0.75", n.Cells[1].Seconds, n.MedianCellSeconds())
	}
	f := n.FailedCells()
	if len(f) != 1 || f[0].Index != 3 || f[0].ErrorText != "undefined: y" {
		t.Errorf("failed cells = %+v", f)
	}
	for _, want := range []string{"expected: raises-exception", "ERROR", "undefined: y", "FAILED (1 cell(s))"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, log.String())
		}
	}

	// A runner that dies before "end" is an error, not a pass.
	py = fakePython(t, `{"event": "start", "notebook": 0, "kernel_seconds": 0.5}`)
	if _, err := Run(context.Background(), []string{nb}, Options{Kernel: "fake", Python: py, OutDir: out,
		Env: []string{"JUPYTER_PATH=" + data}, NoWarm: true}); err == nil || !strings.Contains(err.Error(), "stopped early") {
		t.Errorf("truncated runner: err %v", err)
	}
	// Never overwrite the source.
	if _, err := Run(context.Background(), []string{nb}, Options{Kernel: "fake", Python: py, OutDir: filepath.Dir(nb),
		Env: []string{"JUPYTER_PATH=" + data}, NoWarm: true}); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("out dir = source dir: err %v", err)
	}
}

func TestDefaultOutDir(t *testing.T) {
	root, err := install.FindRoot(".")
	if err != nil {
		t.Skip("not inside a checkout")
	}
	if got := DefaultOutDir(filepath.Join(root, "notebooks", "x.ipynb")); got != filepath.Join(root, ".cache", "run") {
		t.Errorf("DefaultOutDir in checkout = %s", got)
	}
	dir := t.TempDir()
	if got := DefaultOutDir(filepath.Join(dir, "x.ipynb")); got != filepath.Join(dir, ".cache", "run") {
		t.Errorf("DefaultOutDir outside = %s", got)
	}
}

// The learner and solution notebooks share a file name; their executed copies must not.
func TestOutName(t *testing.T) {
	root, err := install.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for nb, want := range map[string]string{
		filepath.Join(root, "notebooks", "week1-transformer.ipynb"):              "week1-transformer.ipynb",
		filepath.Join(root, "notebooks", "solutions", "week1-transformer.ipynb"): filepath.Join("solutions", "week1-transformer.ipynb"),
		filepath.Join(t.TempDir(), "x.ipynb"):                                    "x.ipynb",
		filepath.Join(root, "viz", "testdata", "viz-smoke.ipynb"):                "viz-smoke.ipynb",
	} {
		if got := OutName(nb); got != want {
			t.Errorf("OutName(%s) = %s, want %s", nb, got, want)
		}
	}
}
