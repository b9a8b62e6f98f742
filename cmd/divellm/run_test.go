package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/kernel/install"
	"github.com/divellm/divellm/kernel/nbrun"
)

func TestRunUsage(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "usage"},
		{[]string{"run", txt}, "not a .ipynb"},
		{[]string{"run", filepath.Join(dir, "missing.ipynb")}, "no such file"},
		{[]string{"run", "--timeout", "soon", "x.ipynb"}, "invalid value"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// TestRunMissingKernel: a notebook on a kernel that is not installed fails with advice.
func TestRunMissingKernel(t *testing.T) {
	t.Setenv("JUPYTER_PATH", t.TempDir())
	t.Setenv("JUPYTER_DATA_DIR", t.TempDir())
	nb := filepath.Join(t.TempDir(), "a.ipynb")
	os.WriteFile(nb, []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--kernel", "no-such-kernel", nb}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "divellm kernel install") {
		t.Errorf("exit %d stderr %q", code, errb.String())
	}
}

// TestRunMalformedNotebooks: each file that is not a notebook gets one line on stdout,
// the run still covers the others, and stderr holds one line (it held an 1,800-character
// flattened Python traceback, and the first bad notebook stopped the batch).
func TestRunMalformedNotebooks(t *testing.T) {
	if _, err := nbrun.FindPython(context.Background()); err != nil {
		t.Skipf("needs Jupyter's Python: %v", err)
	}
	data := t.TempDir()
	spec := &install.Kernelspec{Argv: []string{"/bin/false"}, DisplayName: "fake", Language: "go", InterruptMode: "message"}
	if _, err := install.WriteSpec(filepath.Join(data, "kernels", "fake"), spec); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JUPYTER_PATH", data)
	dir := t.TempDir()
	var nbs []string
	for name, body := range map[string]string{
		"truncated.ipynb": `{"cells": [ {"cell_type": "code", `,
		"python.ipynb":    "import json\nprint(json.dumps({}))\n",
		"schema.ipynb":    `{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		nbs = append(nbs, p)
	}
	var out, errb bytes.Buffer
	code := run(append([]string{"run", "--kernel", "fake", "--no-warm", "--out", t.TempDir()}, nbs...), &out, &errb)
	if code != 1 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "3 of 3 notebook(s) failed") {
		t.Errorf("exit %d, stderr %q; want 1 and one line saying 3 of 3 failed", code, errb.String())
	}
	for _, p := range nbs {
		name := filepath.Base(p)
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, name+": ") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], "not a notebook") || len(lines[0]) > 600 {
			t.Errorf("%s: want one short line saying it is not a notebook, got %q", name, lines)
		}
	}
}

// TestCheckoutKernel: a notebook runs against the checkout that holds it. When the
// installed kernelspec serves another checkout, run writes one for this checkout under
// ROOT/.cache/jupyter and points Jupyter at it; when it serves this one, nothing changes.
func TestCheckoutKernel(t *testing.T) {
	root, err := install.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := install.CheckTools(install.Options{Root: root}); err != nil {
		t.Skipf("kernel tools not built (make kernel): %v", err)
	}
	nb := filepath.Join(root, "notebooks", "week0-setup.ipynb")
	writeSpec := func(servedRoot string) {
		data := t.TempDir()
		t.Setenv("JUPYTER_DATA_DIR", data)
		t.Setenv("JUPYTER_PATH", "")
		spec := install.Kernelspec{Argv: []string{"gonb"}, Metadata: map[string]any{"divellm_root": servedRoot}}
		if _, err := install.WriteSpec(filepath.Join(data, "kernels", install.KernelName), &spec); err != nil {
			t.Fatal(err)
		}
	}

	writeSpec(root)
	if env, err := checkoutKernel(context.Background(), nb, io.Discard); err != nil || env != nil {
		t.Fatalf("kernel serving this checkout: env %q, err %v; want nothing", env, err)
	}

	writeSpec(filepath.Join(t.TempDir(), "other-checkout"))
	env, err := checkoutKernel(context.Background(), nb, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, ".cache", "jupyter")
	if len(env) != 1 || env[0] != "JUPYTER_PATH="+data {
		t.Fatalf("env %q; want JUPYTER_PATH=%s", env, data)
	}
	spec, _, err := nbrun.FindSpec(install.KernelName, env)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := spec.Metadata["divellm_root"].(string); !samePath(r, root) {
		t.Fatalf("private kernelspec serves %q, want %s", r, root)
	}
}
