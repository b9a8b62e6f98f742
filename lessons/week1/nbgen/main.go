// Command nbgen writes notebooks/week1-transformer.ipynb from its plain-text source,
// week1.txt, so the notebook can be reviewed and edited as text and diffs stay readable.
//
// The source is a sequence of cells, each introduced by a line of its own:
//
//	-- markdown --
//	-- code --
//	-- code raises-exception --   (a code cell whose error is expected)
//
// Run from the repository root:
//
//	go run ./lessons/week1/nbgen            # rewrite the notebook
//	go run ./lessons/week1/nbgen -check     # exit 1 if the notebook is stale
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

// Cell is one notebook cell in the source.
type Cell struct {
	Type string // "markdown" or "code"
	Tags []string
	Text string
}

// Parse splits the source into cells.
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
			if len(f) == 0 || (f[0] != "markdown" && f[0] != "code") {
				return nil, fmt.Errorf("line %d: unknown cell marker %q", n+1, line)
			}
			flush()
			cur = &Cell{Type: f[0], Tags: f[1:]}
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
		return nil, fmt.Errorf("no cells")
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

// CheckGo parses a GoNB code cell: the part before a "%%" line must be Go declarations
// (imports, funcs, types, vars) and the part after it the body of main. Lines of GoNB
// special commands ("%noautoget") are skipped. It catches prose pasted into a code cell.
func CheckGo(code string) error {
	decls, body, _ := splitCell(code)
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "decls.go", "package main\n"+strings.Join(decls, "\n"), 0); err != nil {
		return fmt.Errorf("declarations: %w", err)
	}
	if _, err := parser.ParseFile(fset, "main.go", "package main\nfunc main() {\n"+strings.Join(body, "\n")+"\n}\n", 0); err != nil {
		return fmt.Errorf("main body: %w", err)
	}
	return nil
}

// GoProgram joins the code cells into one Go program the way GoNB sees them: every
// cell's declarations at the top level, and each cell's main body ("%%" part) as a function
// of its own, so `go build` can type-check the whole notebook against the current APIs
// without Jupyter.
func GoProgram(cells []Cell) string {
	var decls, funcs []string
	for i, c := range cells {
		if c.Type != "code" {
			continue
		}
		d, body, inMain := splitCell(c.Text)
		decls = append(decls, strings.Join(d, "\n"))
		if inMain {
			funcs = append(funcs, fmt.Sprintf("func cell%02d() {\n%s\n}", i, strings.Join(body, "\n")))
		}
	}
	return "package main\n\n" + strings.Join(decls, "\n\n") + "\n\n" + strings.Join(funcs, "\n\n") + "\n\nfunc main() {}\n"
}

// sourceLines splits text the way nbformat stores it: lines keeping their "\n".
func sourceLines(text string) []string {
	if text == "" {
		return []string{}
	}
	parts := strings.SplitAfter(text, "\n")
	return parts
}

// Notebook renders cells as nbformat 4.5 JSON for the divellm Go kernel.
func Notebook(cells []Cell, idPrefix string) ([]byte, error) {
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
	nb := map[string]any{
		"cells": out,
		"metadata": map[string]any{
			"kernelspec":    map[string]any{"display_name": "Go (divellm)", "language": "go", "name": "gonb-divellm"},
			"language_info": map[string]any{"file_extension": ".go", "mimetype": "text/x-go", "name": "go"},
		},
		"nbformat":       4,
		"nbformat_minor": 5,
	}
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

// Generate reads the source file and returns the notebook JSON.
func Generate(srcPath string) ([]byte, error) {
	src, err := os.ReadFile(srcPath)
	if err != nil {
		return nil, err
	}
	cells, err := Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", srcPath, err)
	}
	for i, c := range cells {
		if c.Type != "code" {
			continue
		}
		if err := CheckGo(c.Text); err != nil {
			return nil, fmt.Errorf("%s: cell %d (%q…): %w", srcPath, i, firstLine(c.Text), err)
		}
	}
	return Notebook(cells, "w1")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func main() {
	src := flag.String("src", "lessons/week1/nbgen/week1.txt", "notebook source")
	out := flag.String("out", "notebooks/week1-transformer.ipynb", "notebook to write")
	check := flag.Bool("check", false, "only check that -out is up to date")
	flag.Parse()
	nb, err := Generate(*src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbgen:", err)
		os.Exit(2)
	}
	if *check {
		old, err := os.ReadFile(*out)
		if err != nil || !bytes.Equal(old, nb) {
			fmt.Fprintf(os.Stderr, "nbgen: %s is stale: run go run ./lessons/week1/nbgen\n", *out)
			os.Exit(1)
		}
		return
	}
	if err := os.WriteFile(*out, nb, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "nbgen:", err)
		os.Exit(2)
	}
}
