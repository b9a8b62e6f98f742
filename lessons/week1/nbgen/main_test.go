package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAndRender(t *testing.T) {
	cells, err := Parse("\n-- markdown --\n# Title\n\ntext `code`\n-- code --\n%%\nfmt.Println(1)\n\n-- code raises-exception --\npanic(1)\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 3 || cells[0].Text != "# Title\n\ntext `code`" || cells[1].Text != "%%\nfmt.Println(1)" || cells[2].Tags[0] != "raises-exception" {
		t.Fatalf("%+v", cells)
	}
	nb, err := Notebook(cells, "t")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cells []struct {
			CellType       string              `json:"cell_type"`
			ExecutionCount *int                `json:"execution_count"`
			ID             string              `json:"id"`
			Metadata       map[string][]string `json:"metadata"`
			Outputs        []any               `json:"outputs"`
			Source         []string            `json:"source"`
		} `json:"cells"`
		NBFormat int `json:"nbformat"`
	}
	if err := json.Unmarshal(nb, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, nb)
	}
	c := v.Cells[1]
	if v.NBFormat != 4 || c.CellType != "code" || c.ID != "t-01" || c.Outputs == nil || strings.Join(c.Source, "") != "%%\nfmt.Println(1)" || c.Source[0] != "%%\n" {
		t.Errorf("cell %+v", c)
	}
	if !bytes.Contains(nb, []byte(`"execution_count": null`)) || v.Cells[2].Metadata["tags"][0] != "raises-exception" {
		t.Error("execution_count or tags missing")
	}
	for _, bad := range []string{"stray\n-- code --\nx", "-- python --\nx", ""} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) should fail", bad)
		}
	}
}

func TestCheckGo(t *testing.T) {
	good := []string{
		"%noautoget\nimport (\n\t\"fmt\"\n)\n\n%%\nfmt.Println(1)",
		"func f(x int) int { return x }",
		"%%\nx := 1\n_ = x",
	}
	for _, c := range good {
		if err := CheckGo(c); err != nil {
			t.Errorf("CheckGo(%q): %v", c, err)
		}
	}
	bad := []string{
		"%%\nx := 1\n\nWordPiece 的词表是一个普通文本文件",
		"func f( {",
		"x := 1", // statements need %%
	}
	for _, c := range bad {
		if err := CheckGo(c); err == nil {
			t.Errorf("CheckGo(%q) accepted", c)
		}
	}
}

// The notebook's cells compile against the current packages (what GoNB would build), so an
// API change elsewhere breaks this test and not only the Jupyter run.
func TestNotebookCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the notebook's imports")
	}
	src, err := os.ReadFile("week1.txt")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(".", ".nbcheck-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(GoProgram(cells)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the notebook does not compile: %v\n%s", err, out)
	}
}

// The committed notebook is what the source generates.
func TestNotebookUpToDate(t *testing.T) {
	nb, err := Generate("week1.txt")
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join("..", "..", "..", "notebooks", "week1-transformer.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, nb) {
		t.Fatal("notebooks/week1-transformer.ipynb is stale: run go run ./lessons/week1/nbgen")
	}
}
