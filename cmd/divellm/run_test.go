package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
