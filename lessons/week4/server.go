package week4

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/divellm/divellm/lessons/checkout"

	"runtime"
)

// Options describe the `divellm serve` process a cell wants. The zero value serves the
// shipped gpt-tiny-zh in fp32 with batching on.
type Options struct {
	Name       string   // the server's name: one process per name (default "week4")
	Model      string   // shipped model name or checkpoint directory (default "gpt-tiny-zh")
	Quant      string   // "fp32" (default), "int8", "int4"
	MaxBatch   int      // --max-batch (default 16; 1 turns batching off)
	Queue      int      // --queue (default 64)
	Classifier string   // checkpoint directory for /v1/classify ("" = none)
	Port       int      // 0 = a free port
	Extra      []string // more flags, e.g. "--no-prefix-cache"
}

// GPT2SmallBody is the --hf-overrides that give gpt-tiny-zh's config the body of GPT-2
// small (12 layers, d_model 768, 12 heads, d_ff 3072), for `divellm serve --load-format
// dummy`: random weights of that shape (about 344 MB in float32; the vocabulary and
// positions stay gpt-tiny-zh's), to measure a model that does not fit in the CPU caches.
const GPT2SmallBody = `{"n_layer":12,"n_embd":768,"n_head":12,"n_inner":3072}`

// Server is a running `divellm serve` started by [Start]. Cells are separate processes,
// so its state lives in a record file: a later cell finds the same server again.
type Server struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	PID    int      `json:"pid"`
	Args   []string `json:"args"` // the flags it was started with
	Log    string   `json:"log"`  // its stdout and stderr
	Reused bool     `json:"-"`    // Start found it already running with the same flags
}

// String says where the server is, in one line.
func (s *Server) String() string {
	verb := "启动了 started"
	if s.Reused {
		verb = "沿用已在运行的 reused"
	}
	return fmt.Sprintf("%s %s: %s (pid %d, log %s)", verb, s.Name, s.URL, s.PID, s.Log)
}

// Root returns the checkout (see [checkout.Root]).
func Root() (string, error) { return checkout.Root() }

// ModelDir returns models/NAME of the checkout for a shipped model name, or name itself
// when it is a directory with a config.json.
func ModelDir(name string) (string, error) {
	if _, err := os.Stat(filepath.Join(name, "config.json")); err == nil {
		return name, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "models", name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("no model %q (looked for %s)", name, dir)
	}
	return dir, nil
}

// stateDir is where the record, log and pid files live: .cache/week4 in the checkout
// (see [checkout.CacheDir]).
func stateDir() (string, error) {
	return checkout.CacheDir("week4")
}

func recordPath(name string) (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name+".json"), nil
}

// Binary returns bin/divellm of the checkout, building it first if it is missing or older
// than a Go source of the checkout (the same binary `make build` makes): after a `git
// pull`, a cell must not start a server that lacks the flags the notebook now passes.
func Binary() (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin", "divellm")
	if fi, err := os.Stat(bin); err == nil && !newerSource(root, fi.ModTime()) {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/divellm")
	cmd.Dir = root
	cmd.Env = os.Environ()
	if runtime.GOARCH == "amd64" && os.Getenv("GOEXPERIMENT") == "" {
		cmd.Env = append(cmd.Env, "GOEXPERIMENT=simd")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", bin, err, out)
	}
	return bin, nil
}

// newerSource reports whether a file the divellm binary is built from (Go sources, go.mod,
// go.sum, assembly; not tests) under root was modified after t. It skips what the build never reads
// (.git, caches, notebooks, models, test data).
func newerSource(root string, t time.Time) bool {
	newer := false
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || newer {
			return filepath.SkipDir
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "notebooks" || name == "models" || name == "testdata" || name == "docker") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || strings.HasSuffix(name, ".s") || name == "go.mod" || name == "go.sum" {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(t) {
				newer = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return newer
}

// args turns options into serve flags (without --addr).
func (o Options) args() ([]string, error) {
	model := o.Model
	if model == "" {
		model = "gpt-tiny-zh"
	}
	dir, err := ModelDir(model)
	if err != nil {
		return nil, err
	}
	a := []string{"serve", "--model", dir}
	if o.Quant != "" {
		a = append(a, "--quant", o.Quant)
	}
	if o.MaxBatch != 0 {
		a = append(a, "--max-batch", strconv.Itoa(o.MaxBatch))
	}
	if o.Queue != 0 {
		a = append(a, "--queue", strconv.Itoa(o.Queue))
	}
	if o.Classifier != "" {
		a = append(a, "--classifier", o.Classifier)
	}
	return append(a, o.Extra...), nil
}

// Start returns a healthy `divellm serve` with these options: the one already running
// under o.Name if its flags match (a re-run cell reuses it), otherwise it stops that one
// and starts a new process in the background (its own session, so it outlives the cell),
// writes its record, and waits until GET /health answers 200.
func Start(o Options) (*Server, error) {
	if o.Name == "" {
		o.Name = "week4"
	}
	args, err := o.args()
	if err != nil {
		return nil, err
	}
	if old, err := Find(o.Name); err == nil && old != nil {
		portOK := o.Port == 0 || strings.HasSuffix(old.URL, ":"+strconv.Itoa(o.Port))
		if slices.Equal(old.Args, args) && portOK && healthy(old.URL) {
			old.Reused = true
			return old, nil
		}
		if err := old.Stop(); err != nil {
			return nil, err
		}
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := stateDir()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, o.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, append(append([]string(nil), args...), "--addr", addr)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // not killed with the cell's process group
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reap it if it dies while this cell runs
	s := &Server{Name: o.Name, URL: "http://" + addr, PID: cmd.Process.Pid, Args: args, Log: logPath}
	if err := s.save(); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for !healthy(s.URL) {
		select {
		case err := <-exited:
			_ = os.Remove(mustRecordPath(o.Name))
			return nil, fmt.Errorf("divellm serve exited (%v) before it was ready; its log:\n%s", err, tail(logPath, 10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("divellm serve was not ready after 60 s; its log:\n%s", tail(logPath, 10))
		}
	}
	return s, nil
}

// Find returns the server recorded under name if its process is still alive, nil if there
// is none (a stale record is removed).
func Find(name string) (*Server, error) {
	p, err := recordPath(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s Server
	if err := json.Unmarshal(data, &s); err != nil || !alive(s.PID) {
		_ = os.Remove(p)
		return nil, nil
	}
	return &s, nil
}

// Stop sends SIGTERM (the server drains its requests and exits), waits for the process to
// end (SIGKILL after 15 s) and removes the record.
func (s *Server) Stop() error {
	defer os.Remove(mustRecordPath(s.Name))
	if !alive(s.PID) {
		return nil
	}
	if err := syscall.Kill(s.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pid %d: %w", s.PID, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(s.PID) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
			deadline = time.Now().Add(5 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// StopAll stops the server recorded under name, if any (a cell that cleans up).
func StopAll(name string) error {
	s, err := Find(name)
	if err != nil || s == nil {
		return err
	}
	return s.Stop()
}

func (s *Server) save() error {
	p, err := recordPath(s.Name)
	if err != nil {
		return err
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func mustRecordPath(name string) string {
	p, _ := recordPath(name)
	return p
}

// alive reports whether pid is a running (not zombie) divellm process.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux" // no /proc: trust kill(0)
	}
	// Field 3 is the state; the command name in parentheses may hold spaces.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.Contains(string(cmdline), "divellm") // the pid was not reused by another program
}

func healthy(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Running returns the server a previous cell started under name, or an error that says
// which cell to run.
func Running(name string) (*Server, error) {
	s, err := Find(name)
	if err != nil {
		return nil, err
	}
	if s == nil || !healthy(s.URL) {
		return nil, fmt.Errorf("no healthy server %q: run the cell that calls week4.Start first", name)
	}
	return s, nil
}
