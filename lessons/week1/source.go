package week1

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BlockFuncs are the names, in order of preference, of the function in package llm that
// defines the Transformer block (llm.Block: the one definition, run by the GoMLX graph,
// the KV-cache decoder and the quantized decoder).
var BlockFuncs = []string{"Block"}

// FuncSource returns the source text (doc comment included) of the first function or
// method named one of names in the Go package at dir (relative to the checkout root, e.g.
// "llm"), read from its files now, so the notebook shows the code as it is. A method
// matches by its name alone ("gpt" finds func (n *net) gpt). The error says which names
// were looked for and where, so a renamed function fails with a message instead of a
// stale listing.
func FuncSource(dir string, names ...string) (src, file string, err error) {
	if len(names) == 0 {
		return "", "", fmt.Errorf("func source: no function name")
	}
	root, err := Root()
	if err != nil {
		return "", "", err
	}
	pkgDir := filepath.Join(root, dir)
	paths, err := filepath.Glob(filepath.Join(pkgDir, "*.go"))
	if err != nil || len(paths) == 0 {
		return "", "", fmt.Errorf("func source: no Go files in %s", pkgDir)
	}
	sort.Strings(paths)
	type found struct{ src, file string }
	byName := map[string]found{}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", "", err
		}
		f, err := parser.ParseFile(fset, p, data, parser.ParseComments)
		if err != nil {
			return "", "", fmt.Errorf("func source: %w", err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if _, dup := byName[fn.Name.Name]; dup {
				continue
			}
			start := fn.Pos()
			if fn.Doc != nil {
				start = fn.Doc.Pos()
			}
			text := data[fset.Position(start).Offset:fset.Position(fn.End()).Offset]
			byName[fn.Name.Name] = found{string(bytes.TrimSpace(text)), filepath.Join(dir, filepath.Base(p))}
		}
	}
	for _, n := range names {
		if f, ok := byName[n]; ok {
			return f.src, f.file, nil
		}
	}
	return "", "", fmt.Errorf("func source: none of %s is a function in %s: was it renamed? Update the names (week1.BlockFuncs for the Transformer block)",
		strings.Join(names, ", "), pkgDir)
}

// BlockSource returns the GoMLX code of package llm's Transformer block (see [BlockFuncs])
// as a Markdown Go code block, titled with its file.
func BlockSource() (string, error) {
	src, file, err := FuncSource("llm", BlockFuncs...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("`%s`（此刻从源文件读出 (read from the source now)）：\n\n```go\n%s\n```", file, src), nil
}
