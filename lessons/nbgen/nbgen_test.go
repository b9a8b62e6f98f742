package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

// root is the checkout root seen from this package's directory.
const root = "../.."

const exampleSource = `
-- markdown --
# Title

text ` + "`code`" + `
-- code --
%%
fmt.Println(1)

-- code raises-exception --
%%
panic(1)
-- exercise --
// double returns 2x.
func double(x int) int {
	// TODO: return 2*x.
	return 0
}
-- solution --
// double returns 2x.
func double(x int) int { return 2 * x }
-- check --
%%
fmt.Println(double(2) == 4)
-- note --
Authors only: never in a notebook.
`

// nbJSON is the part of a notebook the tests read.
type nbJSON struct {
	Cells []struct {
		CellType       string              `json:"cell_type"`
		ExecutionCount *int                `json:"execution_count"`
		ID             string              `json:"id"`
		Metadata       map[string][]string `json:"metadata"`
		Outputs        []any               `json:"outputs"`
		Source         []string            `json:"source"`
	} `json:"cells"`
	Metadata struct {
		Divellm map[string]string `json:"divellm"`
	} `json:"metadata"`
	NBFormat int `json:"nbformat"`
}

func TestParseSelectRender(t *testing.T) {
	cells, err := Parse(exampleSource)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, c := range cells {
		kinds = append(kinds, c.Kind)
	}
	if !slices.Equal(kinds, []string{Markdown, Code, Code, Exercise, Solution, Check, Note}) ||
		cells[0].Text != "# Title\n\ntext `code`" || cells[1].Text != "%%\nfmt.Println(1)" || cells[2].Tags[0] != "raises-exception" {
		t.Fatalf("%+v", cells)
	}
	if err := Validate(cells); err != nil {
		t.Fatal(err)
	}
	learner, solution := Select("demo", cells, LearnerVariant), Select("demo", cells, SolutionVariant)
	if len(learner) != 5 || len(solution) != 5 {
		t.Fatalf("learner %d cells, solution %d, want 5 each (the solution replaces the stub, the note is dropped)", len(learner), len(solution))
	}
	for _, c := range append(learner, solution...) {
		if strings.Contains(c.Text, "Authors only") {
			t.Error("a note reached a notebook")
		}
	}
	if !strings.Contains(learner[3].Text, TodoMark) || strings.Contains(solution[3].Text, TodoMark) || !strings.Contains(solution[3].Text, "return 2 * x") {
		t.Errorf("exercise cell: learner %q, solution %q", learner[3].Text, solution[3].Text)
	}
	if learner[4].Tags[0] != exercise.CheckTag || solution[4].Tags[0] != exercise.CheckTag {
		t.Errorf("check cell tags %v / %v", learner[4].Tags, solution[4].Tags)
	}
	if strings.Contains(learner[0].Text, "solution notebook") || !strings.Contains(solution[0].Text, "solution notebook") || !strings.Contains(solution[0].Text, "notebooks/demo.ipynb") {
		t.Errorf("banner: learner %q, solution %q", learner[0].Text, solution[0].Text)
	}
	nb, err := Notebook(learner, "t", map[string]string{"variant": "learner"})
	if err != nil {
		t.Fatal(err)
	}
	var v nbJSON
	if err := json.Unmarshal(nb, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, nb)
	}
	c := v.Cells[1]
	if v.NBFormat != 4 || c.CellType != "code" || c.ID != "t-01" || c.Outputs == nil || strings.Join(c.Source, "") != "%%\nfmt.Println(1)" || c.Source[0] != "%%\n" {
		t.Errorf("cell %+v", c)
	}
	if !bytes.Contains(nb, []byte(`"execution_count": null`)) || v.Cells[2].Metadata["tags"][0] != "raises-exception" || v.Metadata.Divellm["variant"] != "learner" {
		t.Error("execution_count, tags or variant missing")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"stray\n-- code --\nx", "-- python --\nx", "", "-- markdown tag --\nx", "-- solution x --\ny"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) should fail", bad)
		}
	}
}

func TestValidateExercises(t *testing.T) {
	stub := "-- exercise --\nfunc f() int {\n\t// TODO: return 1.\n\treturn 0\n}\n"
	sol := "-- solution --\nfunc f() int { return 1 }\n"
	check := "-- check --\n%%\n_ = f()\n"
	for name, tc := range map[string]struct {
		src, want string
	}{
		"ok":           {stub + sol + check, ""},
		"no TODO":      {strings.Replace(stub, TodoMark, "//", 1) + sol + check, TodoMark},
		"no solution":  {stub + check, "followed by its -- solution --"},
		"no check":     {stub + sol, "-- check -- cell"},
		"names differ": {stub + "-- solution --\nfunc g() int { return 1 }\n" + check, "must match"},
		"TODO left":    {stub + "-- solution --\nfunc f() int { return 1 } // TODO\n" + check, "still contains"},
		"lone sol":     {"-- code --\n%%\n_ = 1\n" + sol, "right after its exercise"},
		"prose in Go":  {"-- code --\n%%\nx := 1\n\nWordPiece 的词表是一个普通文本文件\n", "main body"},
	} {
		cells, err := Parse(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = Validate(cells)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
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

// Both variants of every notebook compile against the current packages (what GoNB would
// build), so an API change elsewhere breaks this test and not only the Jupyter run.
func TestNotebooksCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the notebooks' imports")
	}
	names, err := Sources(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(root, SourceDir, name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		cells, err := Parse(string(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []Variant{LearnerVariant, SolutionVariant} {
			t.Run(name+"/"+string(v), func(t *testing.T) {
				dir, err := os.MkdirTemp(".", ".nbcheck-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(dir)
				if out, err := vetProgram(dir, GoProgram(Select(name, cells, v))); err != nil {
					t.Fatalf("the %s notebook does not compile: %v\n%s", v, err, out)
				}
			})
		}
	}
}

// The committed notebooks are what the sources generate, in both variants.
func TestNotebooksUpToDate(t *testing.T) {
	outs, err := GenerateAll(root)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := Sources(root)
	if len(outs) != 2*len(names) {
		t.Fatalf("%d outputs for %d sources, want a learner and a solution notebook each", len(outs), len(names))
	}
	if stale := Stale(root, outs); len(stale) > 0 {
		t.Fatalf("stale: %v: run go run ./lessons/nbgen", stale)
	}
	for _, o := range outs {
		var v nbJSON
		if err := json.Unmarshal(o.Data, &v); err != nil {
			t.Fatal(err)
		}
		want := string(LearnerVariant)
		if strings.HasPrefix(o.Path, SolutionDir) {
			want = string(SolutionVariant)
		}
		if v.Metadata.Divellm["variant"] != want {
			t.Errorf("%s: variant %q, want %q", o.Path, v.Metadata.Divellm["variant"], want)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-root", root, "-check"}, &out, &errb); code != 0 {
		t.Errorf("-check on the checkout: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"-nope"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	dir := t.TempDir()
	errb.Reset()
	if code := run([]string{"-root", dir, "-check"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no notebook sources") {
		t.Errorf("empty root: exit %d %q, want 1 naming the missing sources", code, errb.String())
	}
	// A stale notebook is named; writing fixes it.
	if err := os.MkdirAll(filepath.Join(dir, SourceDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SourceDir, "demo.txt"), []byte(exampleSource), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"-root", dir, "-check"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "notebooks/demo.ipynb") || !strings.Contains(errb.String(), "notebooks/solutions/demo.ipynb") {
		t.Errorf("stale: exit %d %q", code, errb.String())
	}
	if code := run([]string{"-root", dir}, &out, &errb); code != 0 {
		t.Errorf("write: exit %d %s", code, errb.String())
	}
	if code := run([]string{"-root", dir, "-check"}, &out, &errb); code != 0 {
		t.Errorf("after writing: exit %d", code)
	}
}

// unusedImport matches go vet's complaint about an import no cell uses.
var unusedImport = regexp.MustCompile(`main\.go:(\d+):\d+: .* imported and not used`)

// vetProgram vets prog in dir the way GoNB builds a notebook: GoNB drops the imports that
// no cell uses (a learner notebook's stubs leave some unused), so those lines are removed
// and the program vetted again; any other error is returned with vet's output.
func vetProgram(dir, prog string) ([]byte, error) {
	for range 50 {
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
			return nil, err
		}
		out, err := exec.Command("go", "vet", "./"+filepath.Base(dir)).CombinedOutput()
		if err == nil {
			return nil, nil
		}
		m := unusedImport.FindSubmatch(out)
		if m == nil {
			return out, err
		}
		n, _ := strconv.Atoi(string(m[1]))
		lines := strings.Split(prog, "\n")
		if n < 1 || n > len(lines) || !strings.Contains(lines[n-1], `"`) {
			return out, err
		}
		prog = strings.Join(append(lines[:n-1:n-1], lines[n:]...), "\n")
	}
	return nil, fmt.Errorf("too many unused imports")
}
