package install

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// fakeCheckout makes a directory that looks like a divellm checkout with a tools module.
func fakeCheckout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+ModulePath+"\n\ngo 1.26\n")
	write(ToolsDir+"/go.mod", "module example.com/tools\n\ngo 1.26\n\nrequire github.com/janpfeifer/gonb v0.11.4 // indirect\n")
	write(ToolsDir+"/go.sum", "")
	return root
}

func testOptions(t *testing.T, root string) Options {
	return Options{Root: root, BinDir: filepath.Join(root, "bin", "kernel"), DataDir: filepath.Join(t.TempDir(), "jupyter")}
}

// stampTools makes BinDir look freshly built: fake binaries plus a matching stamp.
func stampTools(t *testing.T, o Options) {
	t.Helper()
	r, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.stamp()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.BinDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range ToolPackages {
		if err := os.WriteFile(filepath.Join(r.BinDir, filepath.Base(p)), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.BinDir, stampFile), []byte(s+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindRoot(t *testing.T) {
	root := fakeCheckout(t)
	deep := filepath.Join(root, "notebooks", "sub")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindRoot(deep)
	if err != nil || got != root {
		t.Fatalf("FindRoot(%s) = %q, %v; want %q", deep, got, err, root)
	}
	// The tools module's own go.mod must not be mistaken for the checkout.
	if got, err := FindRoot(filepath.Join(root, ToolsDir)); err != nil || got != root {
		t.Fatalf("FindRoot(tools) = %q, %v; want %q", got, err, root)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if _, err := FindRoot(other); err == nil {
		t.Fatal("FindRoot in another module: want error")
	}
}

func TestSpec(t *testing.T) {
	root := fakeCheckout(t)
	o := testOptions(t, root)
	spec, err := Spec(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(o.BinDir, "gonb"), "--kernel", "{connection_file}", "--go_work=" + root}
	if !slices.Equal(spec.Argv, want) {
		t.Errorf("argv = %q, want %q", spec.Argv, want)
	}
	if spec.DisplayName != DisplayName || spec.Language != "go" {
		t.Errorf("display %q language %q", spec.DisplayName, spec.Language)
	}
	path := filepath.SplitList(spec.Env["PATH"])
	if len(path) < 2 || path[0] != o.BinDir {
		t.Errorf("PATH %q must start with the tools dir %s", spec.Env["PATH"], o.BinDir)
	}
	if !slices.Contains(path, filepath.Join(runtime.GOROOT(), "bin")) {
		t.Errorf("PATH %q lacks GOROOT/bin", spec.Env["PATH"])
	}
	if spec.Env["GOMLX_BACKEND"] != DefaultBackend {
		t.Errorf("GOMLX_BACKEND = %q", spec.Env["GOMLX_BACKEND"])
	}
	if got, want := spec.Env["GOEXPERIMENT"] == "simd", runtime.GOARCH == "amd64"; got != want {
		t.Errorf("GOEXPERIMENT=simd set: %v, want %v on %s", got, want, runtime.GOARCH)
	}
	if spec.Env["GOFLAGS"] != "'-ldflags=-s -w'" {
		t.Errorf("GOFLAGS = %q, want '-ldflags=-s -w' (no DWARF: faster cell links)", spec.Env["GOFLAGS"])
	}

	o.Backend, o.RawError = "xla:cpu", true
	spec, err = Spec(o)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Env["GOFLAGS"] != "'-ldflags=-s -w' -tags=xla" || spec.Env["GOMLX_BACKEND"] != "xla:cpu" {
		t.Errorf("xla backend env: %v", spec.Env)
	}
	if spec.Argv[len(spec.Argv)-1] != "--raw_error" {
		t.Errorf("RawError: argv %q", spec.Argv)
	}
}

// TestInstallIdempotent: with tools up to date, Install builds nothing, writes the spec
// once, and a second run changes nothing (same bytes, same mtime).
func TestInstallIdempotent(t *testing.T) {
	root := fakeCheckout(t)
	o := testOptions(t, root)
	stampTools(t, o)
	if err := CheckTools(o); err != nil {
		t.Fatalf("CheckTools after stamping: %v", err)
	}
	res, err := Install(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Built || !res.SpecChanged {
		t.Fatalf("first install: built %v specChanged %v, want false true", res.Built, res.SpecChanged)
	}
	if res.SpecPath != filepath.Join(o.DataDir, "kernels", KernelName, "kernel.json") {
		t.Errorf("spec path %s", res.SpecPath)
	}
	before, _ := os.ReadFile(res.SpecPath)
	fi1, _ := os.Stat(res.SpecPath)
	res2, err := Install(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(res.SpecPath)
	fi2, _ := os.Stat(res.SpecPath)
	// A rewrite replaces the file (temp file + rename): a new inode, whatever the clock.
	if res2.Built || res2.SpecChanged || string(before) != string(after) || !os.SameFile(fi1, fi2) {
		t.Fatalf("second install changed something: built %v specChanged %v same file %v", res2.Built, res2.SpecChanged, os.SameFile(fi1, fi2))
	}
	// A different backend rewrites the spec.
	o.Backend = "go:parallelism=2"
	res3, err := Install(context.Background(), o)
	if err != nil || !res3.SpecChanged {
		t.Fatalf("changed backend: specChanged %v err %v", res3 != nil && res3.SpecChanged, err)
	}
}

// TestStaleToolsRebuild: when the tools module changes, the stamp no longer matches and
// Install tries to build (here it fails: the fake module has no gonb source), reporting
// the go build error rather than installing a spec for stale binaries.
func TestStaleToolsRebuild(t *testing.T) {
	root := fakeCheckout(t)
	o := testOptions(t, root)
	stampTools(t, o)
	if err := os.WriteFile(filepath.Join(root, ToolsDir, "go.sum"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckTools(o); err == nil || !strings.Contains(err.Error(), "divellm kernel install") {
		t.Fatalf("CheckTools with a changed go.sum: %v, want an out-of-date error", err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	_, err := Install(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "build pinned tools") {
		t.Fatalf("Install with stale tools and an unbuildable module: %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.DataDir, "kernels", KernelName, "kernel.json")); err == nil {
		t.Error("kernelspec written although the tools failed to build")
	}
}

func TestFindJupyter(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	_, err := FindJupyter(context.Background())
	if !errors.Is(err, ErrNoJupyter) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("empty PATH: err %q, want one line wrapping ErrNoJupyter", err)
	}
	for _, want := range []string{"pip install jupyterlab", "apt-get install jupyter-notebook", "docker compose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	// A pyenv-style shim that fails is not a Jupyter.
	script("jupyter-lab", "exit 127")
	script("jupyter-notebook", "echo 6.4.12")
	f, err := FindJupyter(context.Background())
	if err != nil || f.Name != "Jupyter Notebook" || f.Version != "6.4.12" {
		t.Fatalf("broken lab + working notebook: %+v, %v", f, err)
	}
	script("jupyter-lab", "echo 4.2.5")
	f, err = FindJupyter(context.Background())
	if err != nil || f.Name != "JupyterLab" || f.Version != "4.2.5" {
		t.Fatalf("working lab: %+v, %v", f, err)
	}
	argv := f.Argv(LabOptions{NotebookDir: "/x/notebooks"})
	for _, want := range []string{"--ip=127.0.0.1", "--port=8888", "--notebook-dir=/x/notebooks"} {
		if !slices.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if argv[0] != filepath.Join(dir, "jupyter-lab") {
		t.Errorf("argv[0] = %q", argv[0])
	}
}

func TestToolBuildEnv(t *testing.T) {
	got := toolBuildEnv([]string{"HOME=/h", "GOEXPERIMENT=simd", "GOFLAGS=-mod=mod", "GOWORK=/x/go.work", "GOCACHE=/c"})
	want := []string{"HOME=/h", "GOCACHE=/c", "GOWORK=off"}
	if !slices.Equal(got, want) {
		t.Fatalf("toolBuildEnv = %q, want %q", got, want)
	}
}

// A cell built with the kernelspec's GOFLAGS has no DWARF and no symbol table, and its
// panic trace still names the function and line that panicked.
func TestCellLDFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	src := "package main\n\nfunc boom() { var m map[string]int; m[\"x\"] = 1 }\n\nfunc main() { boom() }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module cell\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "cell")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(toolBuildEnv(os.Environ()), "GOFLAGS="+CellLDFlags)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with GOFLAGS=%s: %v\n%s", CellLDFlags, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(name) != nil {
			t.Errorf("the cell binary has a %s section: GOFLAGS %s did not apply", name, CellLDFlags)
		}
	}
	out, _ := exec.Command(bin).CombinedOutput()
	if !strings.Contains(string(out), "main.boom") || !strings.Contains(string(out), "main.go:3") {
		t.Errorf("panic trace lost its function or line:\n%s", out)
	}
}

// TestInstallerDoesNotLinkGoMLX: the installer (and so `divellm kernel install`'s code
// path) depends on no divellm llm package and no GoMLX package: it used to import
// llm/backend for one constant, which pulled the whole GoMLX Go backend in.
func TestInstallerDoesNotLinkGoMLX(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goCmd, "list", "-deps", ModulePath+"/kernel/install").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, ModulePath+"/llm") || strings.HasPrefix(p, "github.com/gomlx/") {
			t.Errorf("kernel/install depends on %s", p)
		}
	}
}

// TestStampFollowsReplacements: the tools module builds GoNB from third_party/gonb (a
// replace directive), so an edit there must make the binaries stale, as a go.sum edit does.
func TestStampFollowsReplacements(t *testing.T) {
	root := fakeCheckout(t)
	gomod := "module example.com/tools\n\ngo 1.26\n\nrequire github.com/janpfeifer/gonb v0.11.4 // indirect\n\n" +
		"// patched\nreplace github.com/janpfeifer/gonb => ../../third_party/gonb // see PATCHES.md\n\n" +
		"replace (\n\texample.com/a v1.0.0 => ./a\n\texample.com/b => example.com/c v1.2.3\n)\n"
	if err := os.WriteFile(filepath.Join(root, ToolsDir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := localReplacements([]byte(gomod)), []string{filepath.FromSlash("../../third_party/gonb"), filepath.FromSlash("./a")}; !slices.Equal(got, want) {
		t.Fatalf("localReplacements = %q, want %q", got, want)
	}
	o := testOptions(t, root)
	r, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.stamp(); err == nil {
		t.Fatal("stamp with a missing replacement directory: no error")
	}
	src := filepath.Join(root, "third_party", "gonb", "internal", "jpyexec", "jpyexec.go")
	for _, p := range []string{src, filepath.Join(root, ToolsDir, "a", "go.mod")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("package jpyexec\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stampTools(t, o)
	if err := CheckTools(o); err != nil {
		t.Fatalf("CheckTools right after stamping: %v", err)
	}
	if err := os.WriteFile(src, []byte("package jpyexec // patched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckTools(o); err == nil || !strings.Contains(err.Error(), "divellm kernel install") {
		t.Fatalf("CheckTools after editing the replacement's source: %v, want an out-of-date error", err)
	}
}
