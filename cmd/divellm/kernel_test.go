package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/kernel/install"
)

func TestKernelSpecCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"kernel", "spec", "--backend", "go:parallelism=2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var spec install.Kernelspec
	if err := json.Unmarshal(out.Bytes(), &spec); err != nil {
		t.Fatalf("kernel spec output is not JSON: %v\n%s", err, out.String())
	}
	root, err := install.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Argv[0] != filepath.Join(root, "bin", "kernel", "gonb") || spec.Argv[len(spec.Argv)-1] != "--go_work="+root {
		t.Errorf("argv %q", spec.Argv)
	}
	if spec.Env["GOMLX_BACKEND"] != "go:parallelism=2" {
		t.Errorf("--backend not applied: %v", spec.Env)
	}
}

func TestKernelUsage(t *testing.T) {
	for _, args := range [][]string{{"kernel"}, {"kernel", "frobnicate"}, {"kernel", "install", "extra"}, {"kernel", "install", "--nope"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}

// TestLabWithoutJupyter: with no Jupyter on PATH, `kernel lab` exits non-zero and says how
// to get it, before building anything.
func TestLabWithoutJupyter(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errb bytes.Buffer
	code := run([]string{"kernel", "lab", "--check"}, &out, &errb)
	if code == 0 {
		t.Fatalf("exit 0 without Jupyter; stdout %q", out.String())
	}
	for _, want := range []string{"pip install jupyterlab", "apt-get install jupyter-notebook", "docker compose"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errb.String())
		}
	}
	// The three-way instructions keep their line breaks (on stdout); the error is one line.
	if !strings.Contains(out.String(), install.HowToGetJupyter) || strings.Count(install.HowToGetJupyter, "\n") < 3 {
		t.Errorf("stdout lacks the instructions with their line breaks:\n%s", out.String())
	}
	if strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("stderr is not one line: %q", errb.String())
	}
}

// TestKernelInstallCommand installs into a temporary Jupyter dir when the pinned tools
// are already built (else it would build them: minutes, so skip).
func TestKernelInstallCommand(t *testing.T) {
	if err := install.CheckTools(install.Options{}); err != nil {
		t.Skipf("pinned tools not built: %v", err)
	}
	data := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", data)
	for i := 0; i < 2; i++ {
		var out, errb bytes.Buffer
		if code := run([]string{"kernel", "install"}, &out, &errb); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errb.String())
		}
		want := "wrote kernelspec"
		if i == 1 {
			want = "is up to date"
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run %d: output lacks %q:\n%s", i, want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "kernels", install.KernelName, "kernel.json")); err != nil {
		t.Fatal(err)
	}
}

// TestKernelCheckWithoutTools: in a checkout whose tools are not built, `kernel check
// --tests` says the notebook tests will be skipped and exits non-zero.
func TestKernelCheckWithoutTools(t *testing.T) {
	root := t.TempDir()
	for rel, content := range map[string]string{
		"go.mod":              "module " + install.ModulePath + "\n\ngo 1.26\n",
		"kernel/tools/go.mod": "module example.com/tools\n",
		"kernel/tools/go.sum": "",
	} {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	var out, errb bytes.Buffer
	code := run([]string{"kernel", "check", "--tests"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "SKIPPED") || !strings.Contains(out.String(), "divellm kernel install") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and a SKIPPED line naming `divellm kernel install`", code, out.String(), errb.String())
	}
}
