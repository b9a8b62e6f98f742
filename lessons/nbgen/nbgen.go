package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

// Cell kinds in a source.
const (
	Markdown = "markdown"
	Code     = "code"
	Exercise = "exercise"
	Solution = "solution"
	Check    = "check"
	Note     = "note"
)

// TodoMark must appear in every exercise stub.
const TodoMark = "// TODO"

// Variant selects which notebook a source becomes.
type Variant string

// The two notebooks made from one source.
const (
	LearnerVariant  Variant = "learner"
	SolutionVariant Variant = "solution"
)

// Cell is one cell of a source.
type Cell struct {
	Kind string // Markdown, Code, Exercise, Solution or Check
	Tags []string
	Text string
	Line int // line of the marker in the source, for error messages
}

// IsGo reports whether the cell holds Go code.
func (c Cell) IsGo() bool { return c.Kind != Markdown && c.Kind != Note }

// Parse splits a source into cells.
func Parse(src string) ([]Cell, error) {
	var cells []Cell
	var cur *Cell
	var lines []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.Trim(strings.Join(lines, "\n"), "\n")
			cells = append(cells, *cur)
		}
		lines = nil
	}
	for n, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") {
			f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --"))
			if len(f) == 0 || !slices.Contains([]string{Markdown, Code, Exercise, Solution, Check, Note}, f[0]) {
				return nil, fmt.Errorf("line %d: unknown cell marker %q (want -- markdown|code|exercise|solution|check|note [TAG...] --)", n+1, line)
			}
			if (f[0] == Markdown || f[0] == Solution || f[0] == Note) && len(f) > 1 {
				return nil, fmt.Errorf("line %d: %s cells take no tags", n+1, f[0])
			}
			flush()
			cur = &Cell{Kind: f[0], Tags: f[1:], Line: n + 1}
			continue
		}
		if cur == nil {
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("line %d: text before the first cell marker", n+1)
			}
			continue
		}
		lines = append(lines, line)
	}
	flush()
	if len(cells) == 0 {
		return nil, errors.New("no cells")
	}
	return cells, nil
}

// splitCell separates a GoNB code cell into its declarations (before a "%%" line) and the
// body of main (after it), skipping special-command lines ("%noautoget", "!cmd"). hasMain
// says whether the cell has a "%%" line.
func splitCell(code string) (decls, body []string, hasMain bool) {
	for _, line := range strings.Split(code, "\n") {
		switch {
		case strings.TrimSpace(line) == "%%":
			hasMain = true
		case strings.HasPrefix(line, "%") || strings.HasPrefix(line, "!"):
		case hasMain:
			body = append(body, line)
		default:
			decls = append(decls, line)
		}
	}
	return decls, body, hasMain
}

// parseDecls parses the declarations of a GoNB cell.
func parseDecls(code string) (*ast.File, error) {
	decls, _, _ := splitCell(code)
	return parser.ParseFile(token.NewFileSet(), "decls.go", "package main\n"+strings.Join(decls, "\n"), 0)
}

// CheckGo parses a GoNB code cell: the part before a "%%" line must be Go declarations
// (imports, funcs, types, vars) and the part after it the body of main. Lines of GoNB
// special commands ("%noautoget") are skipped. It catches prose pasted into a code cell.
func CheckGo(code string) error {
	if _, err := parseDecls(code); err != nil {
		return fmt.Errorf("declarations: %w", err)
	}
	_, body, _ := splitCell(code)
	if _, err := parser.ParseFile(token.NewFileSet(), "main.go", "package main\nfunc main() {\n"+strings.Join(body, "\n")+"\n}\n", 0); err != nil {
		return fmt.Errorf("main body: %w", err)
	}
	return nil
}

// declaredNames lists the top-level names a cell declares (funcs, types, vars, consts).
func declaredNames(code string) ([]string, error) {
	f, err := parseDecls(code)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			names = append(names, d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// Validate checks a parsed source: Go cells parse, and every exercise has a TODO, exactly
// one solution right after it declaring the same names, and a check cell after that.
func Validate(cells []Cell) error {
	for i, c := range cells {
		where := fmt.Sprintf("cell %d (line %d, %s)", i, c.Line, c.Kind)
		if c.IsGo() {
			if err := CheckGo(c.Text); err != nil {
				return fmt.Errorf("%s %q…: %w", where, firstLine(c.Text), err)
			}
		}
		switch c.Kind {
		case Exercise:
			if !strings.Contains(c.Text, TodoMark) {
				return fmt.Errorf("%s: an exercise stub must contain %q saying what to write", where, TodoMark)
			}
			if i+1 >= len(cells) || cells[i+1].Kind != Solution {
				return fmt.Errorf("%s: an exercise must be followed by its -- solution -- cell", where)
			}
			stub, _ := declaredNames(c.Text)
			sol, _ := declaredNames(cells[i+1].Text)
			if !slices.Equal(stub, sol) {
				return fmt.Errorf("%s: the stub declares %v but its solution declares %v: they must match", where, stub, sol)
			}
			checked := false
			for _, d := range cells[i+2:] {
				if d.Kind == Exercise {
					break
				}
				if d.Kind == Check {
					checked = true
					break
				}
			}
			if !checked {
				return fmt.Errorf("%s: an exercise needs a -- check -- cell after its solution (before the next exercise)", where)
			}
		case Solution:
			if i == 0 || cells[i-1].Kind != Exercise {
				return fmt.Errorf("%s: a solution must come right after its exercise", where)
			}
			if strings.Contains(c.Text, TodoMark) {
				return fmt.Errorf("%s: the solution still contains %q", where, TodoMark)
			}
		}
	}
	return nil
}

// NotebookCell is a cell of one variant, as it goes into the notebook.
type NotebookCell struct {
	Type string // "markdown" or "code"
	Tags []string
	Text string
}

// solutionBanner opens the solution notebook.
const solutionBanner = "> **参考答案版 (solution notebook)**：练习格子里已经填好了答案，供对照和 CI 使用。" +
	"学习时请打开 `notebooks/%s.ipynb`，自己先做。\n\n"

// Select returns the cells of one variant: the learner notebook keeps the exercise stubs
// and drops the solutions; the solution notebook puts each solution in its stub's place and
// opens with a banner. Check cells get the exercise.CheckTag.
func Select(name string, cells []Cell, v Variant) []NotebookCell {
	var out []NotebookCell
	for i := 0; i < len(cells); i++ {
		c := cells[i]
		nc := NotebookCell{Type: "code", Tags: c.Tags, Text: c.Text}
		switch c.Kind {
		case Markdown:
			nc.Type = "markdown"
		case Exercise:
			if v == SolutionVariant && i+1 < len(cells) && cells[i+1].Kind == Solution {
				nc.Text = cells[i+1].Text
			}
		case Solution, Note:
			continue
		case Check:
			nc.Tags = append([]string{exercise.CheckTag}, c.Tags...)
		}
		out = append(out, nc)
	}
	if v == SolutionVariant {
		for i := range out {
			if out[i].Type == "markdown" {
				out[i].Text = fmt.Sprintf(solutionBanner, name) + out[i].Text
				break
			}
		}
	}
	return out
}

// GoProgram joins the code cells into one Go program the way GoNB sees them: every
// cell's declarations at the top level, and each cell's main body ("%%" part) as a function
// of its own, so `go vet` can type-check the whole notebook against the current APIs
// without Jupyter.
//
// Like GoNB, it accepts imports in any cell: they are gathered into one import block at
// the top, each path once.
func GoProgram(cells []NotebookCell) string {
	var decls, funcs, imports []string
	seen := map[string]bool{}
	for i, c := range cells {
		if c.Type != "code" {
			continue
		}
		d, body, inMain := splitCell(c.Text)
		specs, rest := splitImports(d)
		for _, s := range specs {
			if !seen[s] {
				seen[s] = true
				imports = append(imports, s)
			}
		}
		decls = append(decls, strings.Join(rest, "\n"))
		if inMain {
			funcs = append(funcs, fmt.Sprintf("func cell%02d() {\n%s\n}", i, strings.Join(body, "\n")))
		}
	}
	head := "package main\n\n"
	if len(imports) > 0 {
		head += "import (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n"
	}
	return head + strings.Join(decls, "\n\n") + "\n\n" + strings.Join(funcs, "\n\n") + "\n\nfunc main() {}\n"
}

// splitImports separates a cell's import declarations ("import "x"" lines and
// "import ( … )" blocks) from its other declaration lines, returning the import specs
// ("fmt", m "math") one per entry.
func splitImports(lines []string) (specs, rest []string) {
	inBlock := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case inBlock && t == ")":
			inBlock = false
		case inBlock:
			if t != "" && !strings.HasPrefix(t, "//") {
				specs = append(specs, t)
			}
		case t == "import (":
			inBlock = true
		case strings.HasPrefix(t, "import ") && !strings.HasSuffix(t, "("):
			specs = append(specs, strings.TrimSpace(strings.TrimPrefix(t, "import ")))
		default:
			rest = append(rest, l)
		}
	}
	return specs, rest
}

// sourceLines splits text the way nbformat stores it: lines keeping their "\n".
func sourceLines(text string) []string {
	if text == "" {
		return []string{}
	}
	return strings.SplitAfter(text, "\n")
}

// Notebook renders cells as nbformat 4.5 JSON for the divellm Go kernel. idPrefix names
// the cells (idPrefix-00, …); meta goes into the notebook metadata under "divellm".
func Notebook(cells []NotebookCell, idPrefix string, meta map[string]string) ([]byte, error) {
	type jcell struct {
		CellType       string         `json:"cell_type"`
		ExecutionCount *int           `json:"execution_count,omitempty"`
		ID             string         `json:"id"`
		Metadata       map[string]any `json:"metadata"`
		Outputs        *[]any         `json:"outputs,omitempty"`
		Source         []string       `json:"source"`
	}
	var out []jcell
	for i, c := range cells {
		jc := jcell{CellType: c.Type, ID: fmt.Sprintf("%s-%02d", idPrefix, i), Metadata: map[string]any{}, Source: sourceLines(c.Text)}
		if len(c.Tags) > 0 {
			jc.Metadata["tags"] = c.Tags
		}
		if c.Type == "code" {
			jc.Outputs = &[]any{}
		}
		out = append(out, jc)
	}
	md := map[string]any{
		"kernelspec":    map[string]any{"display_name": "Go (divellm)", "language": "go", "name": "gonb-divellm"},
		"language_info": map[string]any{"file_extension": ".go", "mimetype": "text/x-go", "name": "go"},
	}
	if len(meta) > 0 {
		md["divellm"] = meta
	}
	nb := map[string]any{"cells": out, "metadata": md, "nbformat": 4, "nbformat_minor": 5}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(nb); err != nil {
		return nil, err
	}
	// Code cells carry "execution_count": null, which omitempty drops: put it back.
	return bytes.ReplaceAll(buf.Bytes(), []byte(`"cell_type": "code",`), []byte(`"cell_type": "code",`+"\n   \"execution_count\": null,")), nil
}

// The directories of the sources and the generated notebooks, relative to the checkout.
const (
	SourceDir   = "notebooks/src"
	NotebookDir = "notebooks"
	SolutionDir = "notebooks/solutions"
)

// Output is one generated file.
type Output struct {
	Path string // relative to the checkout root
	Data []byte
}

// idPrefix names a notebook's cells: the part of its name before the first '-', with
// "week" shortened to "w" ("week1-transformer" → "w1", cells w1-00, w1-01, …).
func idPrefix(name string) string {
	p, _, _ := strings.Cut(name, "-")
	if n, ok := strings.CutPrefix(p, "week"); ok && n != "" {
		return "w" + n
	}
	return p
}

// Generate reads the source notebooks/src/NAME.txt under root and returns the learner and
// solution notebooks.
func Generate(root, name string) ([]Output, error) {
	srcPath := filepath.Join(SourceDir, name+".txt")
	src, err := os.ReadFile(filepath.Join(root, srcPath))
	if err != nil {
		return nil, err
	}
	cells, err := Parse(string(src))
	if err == nil {
		err = Validate(cells)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", srcPath, err)
	}
	var outs []Output
	for _, v := range []Variant{LearnerVariant, SolutionVariant} {
		dir := NotebookDir
		if v == SolutionVariant {
			dir = SolutionDir
		}
		nb, err := Notebook(Select(name, cells, v), idPrefix(name), map[string]string{"variant": string(v), "source": srcPath})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", srcPath, err)
		}
		outs = append(outs, Output{Path: filepath.Join(dir, name+".ipynb"), Data: nb})
	}
	return outs, nil
}

// Sources lists the notebook names (NAME of notebooks/src/NAME.txt) under root.
func Sources(root string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(root, SourceDir, "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no notebook sources in %s", filepath.Join(root, SourceDir))
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".txt"))
	}
	return names, nil
}

// GenerateAll generates every source's notebooks.
func GenerateAll(root string) ([]Output, error) {
	names, err := Sources(root)
	if err != nil {
		return nil, err
	}
	var outs []Output
	for _, n := range names {
		o, err := Generate(root, n)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o...)
	}
	return outs, nil
}

// Stale returns the outputs whose file under root differs from what the sources generate.
func Stale(root string, outs []Output) []string {
	var stale []string
	for _, o := range outs {
		old, err := os.ReadFile(filepath.Join(root, o.Path))
		if err != nil || !bytes.Equal(old, o.Data) {
			stale = append(stale, o.Path)
		}
	}
	return stale
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
