package nbrun

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

func TestCheckNotebook(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ name, data, want string }{
		{"truncated.ipynb", "{\n \"cells\": [\n  {\"cell_type\": \"code\", ", "invalid JSON on line 3"},
		{"text.ipynb", "print('hello')\n", "invalid JSON on line 1"},
		{"list.ipynb", `["cells"]`, "not a notebook"},
		{"nocells.ipynb", `{"metadata": {}, "nbformat": 4}`, `no "cells"`},
		{"v3.ipynb", `{"cells": [], "nbformat": 3}`, "nbformat 3"},
		{"noversion.ipynb", `{"cells": []}`, `no "nbformat"`},
		{"badcell.ipynb", `{"cells": [{"source": "x"}], "nbformat": 4}`, "cell 0"},
	} {
		err := CheckNotebook(write(c.name, c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || len(err.Error()) > 300 {
			t.Errorf("%s: %v, want one short line mentioning %q", c.name, err, c.want)
		}
	}
	if err := CheckNotebook("/dev/zero"); err == nil || !strings.Contains(err.Error(), "regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	good, _ := filepath.Glob("../../notebooks/*.ipynb")
	for _, p := range append(good, "testdata/imports.ipynb") {
		if err := CheckNotebook(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestRunSkipsMalformedNotebooks: a file that is not a notebook fails with one line and
// the other notebooks of the batch still run (it used to stop the whole run with a
// Python traceback).
func TestRunSkipsMalformedNotebooks(t *testing.T) {
	data := t.TempDir()
	writeSpec(t, data, "fake")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ipynb")
	os.WriteFile(bad, []byte(`{"cells": [ {"cell_type": "code", `), 0o644)
	good := filepath.Join(dir, "good.ipynb")
	os.WriteFile(good, []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`), 0o644)
	// The runner is given only the good notebook: it is its notebook 0.
	py := fakePython(t,
		`{"event": "start", "notebook": 0, "kernel_seconds": 0.5}`,
		`{"event": "cell", "notebook": 0, "index": 0, "seconds": 0.25, "first_line": "%noautoget", "errors": []}`,
		`{"event": "end", "notebook": 0, "seconds": 1.0, "fatal": ""}`,
	)
	var log strings.Builder
	sum, err := Run(context.Background(), []string{bad, good}, Options{Kernel: "fake", Python: py, OutDir: t.TempDir(),
		Env: []string{"JUPYTER_PATH=" + data}, NoWarm: true, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	b, g := sum.Notebooks[0], sum.Notebooks[1]
	if !strings.HasPrefix(b.Fatal, "not a notebook") || strings.Contains(b.Fatal, "\n") || len(b.Fatal) > 300 || len(b.Cells) != 0 {
		t.Errorf("bad notebook: fatal %q, %d cells", b.Fatal, len(b.Cells))
	}
	if !g.OK() || len(g.Cells) != 1 || g.KernelSeconds != 0.5 {
		t.Errorf("good notebook after a bad one: %+v", g)
	}
	if sum.OK {
		t.Error("summary OK with a malformed notebook")
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "bad.ipynb: ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("want exactly one progress line for bad.ipynb:\n%s", log.String())
	}
}

// TestRunnerScriptReportsUnreadableNotebook runs the real nbrun.py (with Jupyter's Python
// when there is one) on notebooks that are JSON with a notebook's outline but that
// nbformat refuses: each is reported in one line and the runner goes on to the next.
func TestRunnerScriptReportsUnreadableNotebook(t *testing.T) {
	py, err := FindPython(context.Background())
	if err != nil {
		t.Skipf("no Python with nbformat and nbclient: %v", err)
	}
	data := t.TempDir()
	writeSpec(t, data, "fake")
	dir := t.TempDir()
	var paths []string
	for i, body := range []string{
		`{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`,
		"{\"cells\": [{\"cell_type\": \"markdown\", \"source\": \"\xff\", \"metadata\": {}}], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 4}", // not UTF-8
	} {
		p := filepath.Join(dir, "schema"+strconv.Itoa(i)+".ipynb")
		os.WriteFile(p, []byte(body), 0o644)
		paths = append(paths, p)
	}
	sum, err := Run(context.Background(), paths, Options{Kernel: "fake", Python: py, OutDir: t.TempDir(),
		Env: []string{"JUPYTER_PATH=" + data}, NoWarm: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, nb := range sum.Notebooks {
		if !strings.HasPrefix(nb.Fatal, "not a notebook: ") || strings.Contains(nb.Fatal, "\n") || len(nb.Fatal) > 300 {
			t.Errorf("%s: fatal %q, want one line starting \"not a notebook: \"", filepath.Base(nb.Path), nb.Fatal)
		}
	}
}
