package install

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/divellm/divellm/internal/backendenv"
)

// ModulePath is the project's module path; [FindRoot] looks for a go.mod declaring it.
const ModulePath = "github.com/divellm/divellm"

// KernelName is the kernelspec directory name (what `jupyter kernelspec list` shows and
// what a notebook's metadata.kernelspec.name refers to).
const KernelName = "gonb-divellm"

// DisplayName is the kernel's name in the Jupyter launcher.
const DisplayName = "Go (divellm)"

// DefaultBackend is the GOMLX_BACKEND written into the kernelspec: the same default as
// llm/backend's, shared through internal/backendenv so that the installer does not link
// GoMLX.
const DefaultBackend = backendenv.Default

// CellLDFlags is the GOFLAGS entry the kernelspec gives cell programs: no DWARF (-w) and
// no symbol table (-s), quoted so that GOFLAGS reads it as one flag.
const CellLDFlags = "'-ldflags=-s -w'"

// ToolsDir is the tools module's directory, relative to the checkout root.
const ToolsDir = "kernel/tools"

// ToolPackages are the pinned programs built from the tools module; the binary names are
// the last path elements (gonb, goimports, gopls).
var ToolPackages = []string{
	"github.com/janpfeifer/gonb",
	"golang.org/x/tools/cmd/goimports",
	"golang.org/x/tools/gopls",
}

// stampFile records what the binaries in the bin directory were built from.
const stampFile = ".tools-stamp"

// Options configures [Install]. The zero value installs for the checkout that contains the
// current directory, into bin/kernel and the user's Jupyter data directory.
type Options struct {
	// Root is the checkout root (the directory holding the project's go.mod).
	// Default: [FindRoot] from the current directory.
	Root string
	// BinDir receives gonb, goimports and gopls. Default: Root/bin/kernel.
	BinDir string
	// DataDir is the Jupyter data directory; the spec goes to DataDir/kernels/Name.
	// Default: [JupyterDataDir].
	DataDir string
	// Name and Display override [KernelName] and [DisplayName].
	Name, Display string
	// Backend is the GOMLX_BACKEND for cells. Default: [DefaultBackend]. An "xla:…"
	// backend also adds -tags=xla to GOFLAGS so cells link the XLA backend.
	Backend string
	// RawError makes GoNB report errors as plain text instead of HTML (for tests and CI logs).
	RawError bool
	// Go is the go command. Default: "go" found on PATH.
	Go string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Result says what [Install] did.
type Result struct {
	Root, BinDir string
	// SpecPath is the kernel.json written (or found up to date).
	SpecPath string
	// Built is true when the tools were (re)built; SpecChanged when kernel.json was written.
	Built, SpecChanged bool
	// BuildTime is the time spent building tools (zero when skipped); Total the whole run.
	BuildTime, Total time.Duration
}

// Kernelspec is the content of a Jupyter kernel.json.
// See https://jupyter-client.readthedocs.io/en/latest/kernels.html#kernel-specs.
type Kernelspec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Env           map[string]string `json:"env"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// goEnv is what the installer needs from `go env`.
type goEnv struct {
	GOROOT, GOARCH, GOOS, GOVERSION string
}

// resolved is Options with every default filled in.
type resolved struct {
	Options
	env goEnv
}

func (o Options) resolve() (*resolved, error) {
	r := &resolved{Options: o}
	if r.Log == nil {
		r.Log = io.Discard
	}
	if r.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if r.Root, err = FindRoot(wd); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(r.Root)
	if err != nil {
		return nil, err
	}
	r.Root = root
	if r.BinDir == "" {
		r.BinDir = filepath.Join(r.Root, "bin", "kernel")
	}
	if r.BinDir, err = filepath.Abs(r.BinDir); err != nil {
		return nil, err
	}
	if r.DataDir == "" {
		if r.DataDir, err = JupyterDataDir(); err != nil {
			return nil, err
		}
	}
	if r.Name == "" {
		r.Name = KernelName
	}
	if r.Display == "" {
		r.Display = DisplayName
	}
	if r.Backend == "" {
		r.Backend = DefaultBackend
	}
	if r.Go == "" {
		if r.Go, err = exec.LookPath("go"); err != nil {
			return nil, fmt.Errorf("the go command is not on PATH: install Go 1.26 from https://go.dev/dl and retry")
		}
	}
	if r.Go, err = filepath.Abs(r.Go); err != nil {
		return nil, err
	}
	if r.env, err = readGoEnv(r.Go); err != nil {
		return nil, err
	}
	return r, nil
}

func readGoEnv(goCmd string) (goEnv, error) {
	var e goEnv
	out, err := exec.Command(goCmd, "env", "-json", "GOROOT", "GOARCH", "GOOS", "GOVERSION").Output()
	if err != nil {
		return e, fmt.Errorf("go env: %w", err)
	}
	if err := json.Unmarshal(out, &e); err != nil {
		return e, fmt.Errorf("go env: %w", err)
	}
	return e, nil
}

// FindRoot walks up from dir to the directory whose go.mod declares [ModulePath].
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && declaresModule(data, ModulePath) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no divellm checkout (go.mod with module %s) in %s or its parents", ModulePath, dir)
		}
	}
}

func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}

// JupyterDataDir returns $JUPYTER_DATA_DIR, or the per-user default Jupyter uses
// (~/.local/share/jupyter on Linux, ~/Library/Jupyter on macOS).
func JupyterDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find Jupyter data dir (set JUPYTER_DATA_DIR): %w", err)
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Jupyter"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// Install builds the pinned tools (unless up to date) and writes the kernelspec (unless
// identical). It is safe to run any number of times.
func Install(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	res := &Result{Root: r.Root, BinDir: r.BinDir}
	t0 := time.Now()
	if res.Built, err = r.buildTools(ctx); err != nil {
		return nil, err
	}
	if res.Built {
		res.BuildTime = time.Since(t0)
	}
	spec := r.spec()
	res.SpecPath = filepath.Join(r.DataDir, "kernels", r.Name, "kernel.json")
	if res.SpecChanged, err = WriteSpec(filepath.Dir(res.SpecPath), spec); err != nil {
		return nil, err
	}
	if res.SpecChanged {
		fmt.Fprintf(r.Log, "wrote kernelspec %s\n", res.SpecPath)
	} else {
		fmt.Fprintf(r.Log, "kernelspec %s is up to date\n", res.SpecPath)
	}
	res.Total = time.Since(start)
	return res, nil
}

// Spec returns the kernelspec [Install] would write for opts, without building anything.
func Spec(opts Options) (*Kernelspec, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	return r.spec(), nil
}

// CheckTools returns nil when the pinned binaries exist in the bin directory and were
// built from the current tools module with the current Go; otherwise an error that says
// how to build them.
func CheckTools(opts Options) error {
	r, err := opts.resolve()
	if err != nil {
		return err
	}
	want, err := r.stamp()
	if err != nil {
		return err
	}
	if !r.toolsUpToDate(want) {
		return fmt.Errorf("the pinned GoNB tools in %s are missing or out of date: run `divellm kernel install` (or `make lab`)", r.BinDir)
	}
	return nil
}

func (r *resolved) spec() *Kernelspec {
	argv := []string{filepath.Join(r.BinDir, "gonb"), "--kernel", "{connection_file}", "--go_work=" + r.Root}
	if r.RawError {
		argv = append(argv, "--raw_error")
	}
	env := map[string]string{
		"PATH":         r.kernelPath(),
		backendenv.Var: r.Backend,
	}
	if r.env.GOARCH == "amd64" {
		// GoMLX's AVX2/AVX-512 matmul kernels are behind this experiment (see Makefile).
		env["GOEXPERIMENT"] = "simd"
	}
	// Each cell is linked into a new program; DWARF debug info roughly doubles link time
	// (1.45 s → 0.8 s for a cell importing GoMLX) and no one runs a debugger on a cell.
	// -s also drops the ELF symbol table (8% smaller binaries; no measurable link time).
	// Panic traces still name functions and lines: they come from the runtime's own
	// pclntab, which neither flag removes. The quotes keep "-s -w" one GOFLAGS entry.
	env["GOFLAGS"] = CellLDFlags
	if strings.HasPrefix(r.Backend, "xla") {
		env["GOFLAGS"] += " -tags=xla"
	}
	return &Kernelspec{
		Argv:          argv,
		DisplayName:   r.Display,
		Language:      "go",
		InterruptMode: "message",
		Env:           env,
		Metadata:      map[string]any{"divellm_root": r.Root},
	}
}

// kernelPath is the PATH cells see: the pinned tools first, then the go command's
// directory, then the usual system directories. It does not copy the installing shell's
// PATH, so the kernelspec is the same whatever shell ran the install.
func (r *resolved) kernelPath() string {
	dirs := []string{r.BinDir, filepath.Dir(r.Go), filepath.Join(r.env.GOROOT, "bin"),
		"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return strings.Join(out, string(os.PathListSeparator))
}

// WriteSpec writes spec as dir/kernel.json unless the file already holds the same bytes.
// It reports whether it wrote.
func WriteSpec(dir string, spec *Kernelspec) (bool, error) {
	return writeIfChanged(filepath.Join(dir, "kernel.json"), spec.JSON(), 0o644)
}

// JSON returns the kernel.json bytes: indented, keys in a fixed order, newline-terminated.
func (s *Kernelspec) JSON() []byte {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // only strings and maps of strings: cannot fail
	}
	return append(data, '\n')
}

// writeIfChanged writes data to path atomically unless path already holds data.
func writeIfChanged(path string, data []byte, perm os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// stamp hashes everything the tool binaries depend on: the tools module's go.mod and
// go.sum, the source trees its go.mod replaces modules with (third_party/gonb), the
// package list, and the Go version and platform.
func (r *resolved) stamp() (string, error) {
	h := sha256.New()
	toolsDir := filepath.Join(r.Root, ToolsDir)
	var gomod []byte
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(toolsDir, f))
		if err != nil {
			return "", fmt.Errorf("tools module: %w", err)
		}
		if f == "go.mod" {
			gomod = data
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	for _, dir := range localReplacements(gomod) {
		if err := hashTree(h, filepath.Join(toolsDir, dir)); err != nil {
			return "", fmt.Errorf("tools module: replacement %s: %w", dir, err)
		}
	}
	fmt.Fprintf(h, "%s %s/%s\n%s\n", r.env.GOVERSION, r.env.GOOS, r.env.GOARCH, strings.Join(ToolPackages, " "))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// localReplacements lists the directories (relative to the module) that the replace
// directives of a go.mod point at: "replace M => ../dir" or "M v => ./dir" in a block.
func localReplacements(gomod []byte) []string {
	var dirs []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "replace (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "replace "):
			line = strings.TrimPrefix(line, "replace ")
		case !inBlock:
			continue
		}
		_, target, ok := strings.Cut(line, "=>")
		f := strings.Fields(target)
		if ok && len(f) == 1 && (strings.HasPrefix(f[0], "./") || strings.HasPrefix(f[0], "../")) {
			dirs = append(dirs, filepath.FromSlash(f[0]))
		}
	}
	return dirs
}

// hashTree writes every regular file under dir (path, size and bytes, in walk order,
// which is lexical) into h.
func hashTree(h io.Writer, dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
		_, err = h.Write(data)
		return err
	})
}

func (r *resolved) toolsUpToDate(stamp string) bool {
	old, err := os.ReadFile(filepath.Join(r.BinDir, stampFile))
	if err != nil || strings.TrimSpace(string(old)) != stamp {
		return false
	}
	for _, p := range ToolPackages {
		if fi, err := os.Stat(filepath.Join(r.BinDir, filepath.Base(p))); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// buildTools builds the pinned binaries into BinDir unless the stamp says they are current.
func (r *resolved) buildTools(ctx context.Context) (bool, error) {
	stamp, err := r.stamp()
	if err != nil {
		return false, err
	}
	if r.toolsUpToDate(stamp) {
		fmt.Fprintf(r.Log, "pinned tools in %s are up to date\n", r.BinDir)
		return false, nil
	}
	if err := os.MkdirAll(r.BinDir, 0o755); err != nil {
		return false, err
	}
	fmt.Fprintf(r.Log, "building %s into %s (first time: a few minutes)…\n", strings.Join(pinnedVersions(r.Root), ", "), r.BinDir)
	args := append([]string{"build", "-C", filepath.Join(r.Root, ToolsDir), "-o", r.BinDir + string(filepath.Separator)}, ToolPackages...)
	cmd := exec.CommandContext(ctx, r.Go, args...)
	cmd.Env = toolBuildEnv(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, r.Log), io.MultiWriter(&out, r.Log)
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("build pinned tools (%s): %w\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	if _, err := writeIfChanged(filepath.Join(r.BinDir, stampFile), []byte(stamp+"\n"), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// toolBuildEnv is env for building the tools: never through a go.work above the tools
// module, and without GOEXPERIMENT and GOFLAGS, which the Makefile and users set for the
// project. The tools do not need them, and leaving them in would give `make kernel` and a
// plain `divellm kernel install` different build-cache keys: a second 4-minute build.
func toolBuildEnv(environ []string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != "GOEXPERIMENT" && k != "GOFLAGS" && k != "GOWORK" {
			out = append(out, kv)
		}
	}
	return append(out, "GOWORK=off")
}

// pinnedVersions lists "module@version" for the tool modules, read from kernel/tools/go.mod.
func pinnedVersions(root string) []string {
	data, err := os.ReadFile(filepath.Join(root, ToolsDir, "go.mod"))
	if err != nil {
		return ToolPackages
	}
	want := map[string]bool{"github.com/janpfeifer/gonb": true, "golang.org/x/tools/gopls": true, "golang.org/x/tools": true}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && want[f[0]] {
			out = append(out, f[0]+"@"+f[1])
		}
	}
	if len(out) == 0 {
		return ToolPackages
	}
	return out
}

// ErrNoJupyter is wrapped by [FindJupyter]'s error when no Jupyter front end is installed.
var ErrNoJupyter = errors.New("jupyter not found")
