package nbrun

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/kernel/install"
)

//go:embed nbrun.py
var script string

// AllowErrorTag marks a cell whose error output is expected (Jupyter's convention).
const AllowErrorTag = "raises-exception"

// Options configures [Run]. The zero value runs on the installed "Go (divellm)" kernel.
type Options struct {
	// Kernel is the kernelspec name. Default: install.KernelName.
	Kernel string
	// OutDir receives the executed copies. Default: ROOT/.cache/run for notebooks inside a
	// divellm checkout, else .cache/run beside the notebook. Never the source file.
	OutDir string
	// CellTimeout bounds one cell. Default: 10 minutes.
	CellTimeout time.Duration
	// Python runs nbrun.py. Default: [FindPython].
	Python string
	// Env is added to the environment of the Python process (and so of the kernel), e.g.
	// JUPYTER_PATH to find a kernelspec installed elsewhere.
	Env []string
	// NoWarm skips [WarmBuildCache].
	NoWarm bool
	// Progress receives a line per cell as it finishes; nil discards.
	Progress io.Writer
}

// CellError is one error output of a cell.
type CellError struct {
	Name      string   `json:"ename"`
	Value     string   `json:"evalue"`
	Traceback []string `json:"traceback,omitempty"`
}

// Cell is the result of one code cell.
type Cell struct {
	// Index is the cell's position in the notebook (counting markdown cells), from 0.
	Index     int     `json:"index"`
	FirstLine string  `json:"first_line"`
	Seconds   float64 `json:"seconds"`
	// CPUSeconds is the CPU time the cell cost: the kernel's and that of the programs it
	// waited for (go build, the compiler and linker, the cell's binary). Unlike Seconds it
	// does not grow when other programs load the machine. 0 where not measured (no /proc).
	CPUSeconds float64     `json:"cpu_seconds"`
	Tags       []string    `json:"tags,omitempty"`
	Errors     []CellError `json:"errors,omitempty"`
	// ErrorText is the plain text of the cell's HTML output when it failed (GoNB shows
	// compile errors as HTML).
	ErrorText string `json:"error_text,omitempty"`
	Stdout    string `json:"stdout,omitempty"`
	Stderr    string `json:"stderr,omitempty"`
	// Text is the plain text of the cell's displays (HTML with tags, scripts and styles
	// removed; text/plain as is): what an exercise check or a table printed.
	Text     string `json:"text,omitempty"`
	Displays int    `json:"displays"`
}

// Output is everything the cell printed: stdout, then the text of its displays.
func (c *Cell) Output() string {
	if c.Text == "" {
		return c.Stdout
	}
	return c.Stdout + "\n" + c.Text
}

// Failed reports whether the cell produced an error it was not tagged to expect.
func (c *Cell) Failed() bool {
	return len(c.Errors) > 0 && !slices.Contains(c.Tags, AllowErrorTag)
}

// Notebook is the result of one notebook.
type Notebook struct {
	Path string `json:"path"`
	// Out is the executed copy.
	Out           string  `json:"out"`
	KernelSeconds float64 `json:"kernel_seconds"`
	Seconds       float64 `json:"seconds"`
	Cells         []Cell  `json:"cells"`
	// MedianCell and P90Cell are the median and 90th percentile of the code cells' times
	// in seconds (set when the notebook ends; see [Notebook.MedianCellSeconds]).
	MedianCell float64 `json:"median_cell_seconds"`
	P90Cell    float64 `json:"p90_cell_seconds"`
	// MedianCellCPU and P90CellCPU are the same for the cells' CPU time.
	MedianCellCPU float64 `json:"median_cell_cpu_seconds"`
	P90CellCPU    float64 `json:"p90_cell_cpu_seconds"`
	// Fatal is set when the notebook could not run to the end (kernel did not start or
	// died, a cell timed out, the file is not a notebook).
	Fatal string `json:"fatal,omitempty"`
}

// FailedCells returns the cells that failed.
func (n *Notebook) FailedCells() []Cell {
	var out []Cell
	for _, c := range n.Cells {
		if c.Failed() {
			out = append(out, c)
		}
	}
	return out
}

// OK reports whether the notebook ran to the end with no unexpected error.
func (n *Notebook) OK() bool { return n.Fatal == "" && len(n.FailedCells()) == 0 }

// cellSeconds lists the times of the notebook's code cells.
func (n *Notebook) cellSeconds() []float64 {
	s := make([]float64, len(n.Cells))
	for i, c := range n.Cells {
		s[i] = c.Seconds
	}
	return s
}

// MedianCellSeconds is the median time of the notebook's code cells (0 if none).
func (n *Notebook) MedianCellSeconds() float64 { return Median(n.cellSeconds()) }

// P90CellSeconds is the 90th percentile of the code cells' times (0 if none).
func (n *Notebook) P90CellSeconds() float64 { return Percentile(n.cellSeconds(), 90) }

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Percentile returns the p-th percentile of xs (0 ≤ p ≤ 100) by linear interpolation
// between the closest ranks (NumPy's default): rank (n−1)·p/100 of the sorted values.
// It returns 0 for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	r := (float64(len(s)) - 1) * min(max(p, 0), 100) / 100
	lo := int(r)
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (r-float64(lo))*(s[lo+1]-s[lo])
}

// Summary is the result of [Run].
type Summary struct {
	Kernel    string     `json:"kernel"`
	Notebooks []Notebook `json:"notebooks"`
	// WarmSeconds is the time spent warming the build cache.
	WarmSeconds float64 `json:"warm_seconds"`
	Seconds     float64 `json:"seconds"`
	OK          bool    `json:"ok"`
}

// event is one JSON line from nbrun.py.
type event struct {
	Event         string   `json:"event"`
	Notebook      int      `json:"notebook"`
	KernelSeconds float64  `json:"kernel_seconds"`
	Seconds       float64  `json:"seconds"`
	Fatal         string   `json:"fatal"`
	CPU           *float64 `json:"cpu_seconds"` // null when not measured
	Cell
}

// DefaultOutDir returns where the executed copy of notebook goes by default.
func DefaultOutDir(notebook string) string {
	dir := filepath.Dir(notebook)
	if root, err := install.FindRoot(dir); err == nil {
		return filepath.Join(root, ".cache", "run")
	}
	return filepath.Join(dir, ".cache", "run")
}

// OutName is where the executed copy of notebook goes inside the output directory: its
// path below the checkout's notebooks/ directory (solutions/week1-x.ipynb), so the learner
// and solution notebooks of a week, which share a file name, do not overwrite each other;
// the file name alone for notebooks elsewhere.
func OutName(notebook string) string {
	if root, err := install.FindRoot(filepath.Dir(notebook)); err == nil {
		if rel, err := filepath.Rel(filepath.Join(root, "notebooks"), notebook); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return filepath.Base(notebook)
}

// Run executes each notebook on a fresh kernel and returns what happened. The error is
// for failures to run at all (no Python with nbclient, kernel not installed); a failing
// cell is reported in the Summary (Summary.OK false), not as an error, and so is a file
// that is not a notebook (its Notebook.Fatal says why, in one line): the other notebooks
// still run.
func Run(ctx context.Context, notebooks []string, opts Options) (*Summary, error) {
	start := time.Now()
	if len(notebooks) == 0 {
		return nil, errors.New("no notebooks to run")
	}
	if opts.Kernel == "" {
		opts.Kernel = install.KernelName
	}
	if opts.CellTimeout == 0 {
		opts.CellTimeout = 10 * time.Minute
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	env := append(os.Environ(), opts.Env...)
	spec, specDir, err := FindSpec(opts.Kernel, env)
	if err != nil {
		return nil, err
	}
	if opts.Python == "" {
		if opts.Python, err = FindPython(ctx); err != nil {
			return nil, err
		}
	}
	sum := &Summary{Kernel: opts.Kernel}
	type nbArg struct {
		Path string `json:"path"`
		Out  string `json:"out"`
	}
	var args []nbArg
	var index []int   // Python's notebook i is sum.Notebooks[index[i]]
	var good []string // the notebooks passed to Python
	for _, p := range notebooks {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("notebook: %w", err)
		}
		outDir := opts.OutDir
		if outDir == "" {
			outDir = DefaultOutDir(abs)
		}
		out, err := filepath.Abs(filepath.Join(outDir, OutName(abs)))
		if err != nil {
			return nil, err
		}
		if out == abs {
			return nil, fmt.Errorf("output %s would overwrite the source notebook: choose another --out", out)
		}
		nb := Notebook{Path: abs, Out: out}
		if err := CheckNotebook(abs); err != nil {
			nb.Fatal = err.Error()
			fmt.Fprintln(progress, notebookLine(&nb))
		} else {
			args = append(args, nbArg{abs, out})
			index = append(index, len(sum.Notebooks))
			good = append(good, abs)
		}
		sum.Notebooks = append(sum.Notebooks, nb)
	}
	if len(args) == 0 { // nothing that is a notebook: no kernel to start
		sum.Seconds = time.Since(start).Seconds()
		return sum, nil
	}
	if !opts.NoWarm {
		t0 := time.Now()
		if err := WarmBuildCache(ctx, spec, good, env, progress); err != nil {
			fmt.Fprintf(progress, "warning: warming the build cache: %v\n", err)
		}
		sum.WarmSeconds = time.Since(t0).Seconds()
	}
	cfg, _ := json.Marshal(map[string]any{
		"kernel":          opts.Kernel,
		"timeout":         int(opts.CellTimeout.Seconds()),
		"startup_timeout": 600, // a kernel starting on a busy machine: minutes, not seconds
		"notebooks":       args,
	})
	cmd := exec.CommandContext(ctx, opts.Python, "-c", script, string(cfg))
	cmd.Env = env
	// On cancel, interrupt rather than kill: nbclient then shuts its kernel down (a killed
	// Python would leave GoNB and gopls running). Kill only if that takes too long.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // GoNB's and Jupyter's logs: shown only if the run breaks.
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Python, err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	ended := 0
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // not ours (a library printing to stdout)
		}
		if ev.Notebook < 0 || ev.Notebook >= len(index) {
			continue
		}
		nb := &sum.Notebooks[index[ev.Notebook]]
		name := filepath.Base(nb.Path)
		switch ev.Event {
		case "start":
			nb.KernelSeconds = ev.KernelSeconds
			fmt.Fprintf(progress, "%s: kernel %s started in %.1fs\n", name, opts.Kernel, ev.KernelSeconds)
		case "cell":
			ev.Cell.Seconds = ev.Seconds // the embedded field is shadowed by event.Seconds
			if ev.CPU != nil {
				ev.Cell.CPUSeconds = *ev.CPU
			}
			nb.Cells = append(nb.Cells, ev.Cell)
			fmt.Fprintln(progress, cellLine(&ev.Cell))
		case "end":
			ended++
			nb.Seconds, nb.Fatal = ev.Seconds, oneLine(ev.Fatal, 300)
			nb.MedianCell, nb.P90Cell = nb.MedianCellSeconds(), nb.P90CellSeconds()
			cpu := make([]float64, len(nb.Cells))
			for i, c := range nb.Cells {
				cpu[i] = c.CPUSeconds
			}
			nb.MedianCellCPU, nb.P90CellCPU = Median(cpu), Percentile(cpu, 90)
			if nb.Fatal != "" && strings.Contains(nb.Fatal, "No such kernel") {
				nb.Fatal += fmt.Sprintf(" (run `divellm kernel install`; spec looked up in %s)", specDir)
			}
			fmt.Fprintln(progress, notebookLine(nb))
		}
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if ended < len(args) {
		return nil, fmt.Errorf("notebook runner stopped early (%v):\n%s", waitErr, tail(stderr.String(), 4000))
	}
	sum.OK = true
	for i := range sum.Notebooks {
		sum.OK = sum.OK && sum.Notebooks[i].OK()
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

func cellLine(c *Cell) string {
	status := "ok"
	detail := ""
	switch {
	case c.Failed():
		status = "ERROR"
		detail = "  " + c.Errors[0].Name + ": " + firstLine(c.Errors[0].Value)
		if c.ErrorText != "" {
			detail += "\n" + indent(tail(c.ErrorText, 1500), "        | ")
		} else if c.Stderr != "" {
			detail += "\n" + indent(tail(c.Stderr, 1500), "        | ")
		}
	case len(c.Errors) > 0:
		status = "error (expected: " + AllowErrorTag + ")"
	}
	return fmt.Sprintf("  [%2d] %6.2fs (cpu %5.2fs) %-5s %s%s", c.Index, c.Seconds, c.CPUSeconds, status, c.FirstLine, detail)
}

func notebookLine(n *Notebook) string {
	verdict := "ok"
	if f := n.FailedCells(); len(f) > 0 {
		verdict = fmt.Sprintf("FAILED (%d cell(s))", len(f))
	}
	if n.Fatal != "" {
		verdict = "FAILED: " + n.Fatal
	}
	return fmt.Sprintf("%s: %d code cells in %.1fs, median cell %.2fs, p90 %.2fs (cpu: median %.2fs, p90 %.2fs), %s → %s",
		filepath.Base(n.Path), len(n.Cells), n.Seconds, n.MedianCellSeconds(), n.P90CellSeconds(), n.MedianCellCPU, n.P90CellCPU, verdict, n.Out)
}

// MaxNotebookBytes is the largest notebook file [Run] reads (notebooks with many
// embedded charts reach tens of MB).
const MaxNotebookBytes = 512 << 20

// CheckNotebook reports, in one line, why the file at path is not a Jupyter notebook
// that nbformat 4 can read: not a regular file, too large, not JSON, no "cells" list, a
// cell that is not an object with a cell_type, or another major nbformat version.
func CheckNotebook(path string) error {
	data, err := fileio.ReadFile(path, MaxNotebookBytes)
	if err != nil {
		return fmt.Errorf("not a notebook: %w", err)
	}
	var nb struct {
		Cells    *[]json.RawMessage `json:"cells"`
		NBFormat *int               `json:"nbformat"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
			return fmt.Errorf("not a notebook: invalid JSON on line %d: %v", line, err)
		}
		return fmt.Errorf("not a notebook: %v", oneLine(err.Error(), 200))
	}
	switch {
	case nb.Cells == nil:
		return errors.New(`not a notebook: no "cells" list`)
	case nb.NBFormat == nil:
		return errors.New(`not a notebook: no "nbformat" version`)
	case *nb.NBFormat != 4:
		return fmt.Errorf("not a notebook this runner reads: nbformat %d (want 4; convert with jupyter nbconvert --to notebook)", *nb.NBFormat)
	}
	for i, raw := range *nb.Cells {
		var c struct {
			CellType string `json:"cell_type"`
		}
		if json.Unmarshal(raw, &c) != nil || c.CellType == "" {
			return fmt.Errorf("not a notebook: cell %d is not an object with a cell_type", i)
		}
	}
	return nil
}

// oneLine keeps the first line of s, at most n bytes (cut at a rune boundary).
func oneLine(s string, n int) string {
	s = firstLine(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
