package week1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFuncSource(t *testing.T) {
	// A package of our own: the function is found by name, a method by its name alone, the
	// doc comment comes with it, and a missing name is a clear error.
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(root, ".funcsource-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := "package p\n\ntype net struct{}\n\n// block is one layer.\nfunc (n *net) block(x int) int {\n\treturn x + 1 // [b, s, m]\n}\n\nfunc other() {}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Base(dir)
	got, file, err := FuncSource(rel, "nope", "block")
	if err != nil {
		t.Fatal(err)
	}
	want := "// block is one layer.\nfunc (n *net) block(x int) int {\n\treturn x + 1 // [b, s, m]\n}"
	if got != want || file != filepath.Join(rel, "a.go") {
		t.Errorf("got %q in %s, want %q", got, file, want)
	}
	if _, _, err := FuncSource(rel, "renamed"); err == nil || !strings.Contains(err.Error(), "renamed") || !strings.Contains(err.Error(), "BlockFuncs") {
		t.Errorf("missing function: %v", err)
	}
	// The real block: llm builds it today, and the listing is the file's text.
	md, err := BlockSource()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"```go", "func Block", "LayerNorm", "Attention", "Add("} {
		if !strings.Contains(md, s) {
			t.Errorf("block source lacks %q:\n%s", s, md)
		}
	}
}
