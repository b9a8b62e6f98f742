package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// leafCommands lists every runnable command by its full name ("generate",
// "pipeline fill-mask", …), groups expanded.
func leafCommands() map[string]*command {
	out := map[string]*command{}
	for name, c := range commands {
		if c.subs == nil {
			out[name] = c
			continue
		}
		for sub, s := range c.subs {
			out[name+" "+sub] = s
		}
	}
	return out
}

// TestHelpEveryCommand: --help and -h on every command print its full usage (each flag
// with its description and default) on stdout and exit 0; groups list their commands.
func TestHelpEveryCommand(t *testing.T) {
	for name, cmd := range leafCommands() {
		args := append(strings.Fields(name), "--help")
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: divellm "+name) {
			t.Errorf("%s --help: exit %d, stderr %q, stdout %q", name, code, errOut, out)
			continue
		}
		if code2, out2, _ := runCLI(t, append(strings.Fields(name), "-h")...); code2 != 0 || out2 != out {
			t.Errorf("%s -h differs from --help (exit %d)", name, code2)
		}
		if cmd.legacy != nil {
			if !strings.Contains(out, "flags:") {
				t.Errorf("%s --help lists no flags:\n%s", name, out)
			}
			continue
		}
		// The flags the command really parses, from its own FlagSet.
		c := newCtx(name, cmd, []string{"--help"}, io.Discard, io.Discard)
		_, err := cmd.run(c)
		var help *helpRequest
		if !errors.As(err, &help) || help.text != out {
			t.Errorf("%s: run with --help returned %v", name, err)
			continue
		}
		n := 0
		c.fs.VisitAll(func(f *flag.Flag) {
			n++
			if !strings.Contains(out, "--"+f.Name) {
				t.Errorf("%s --help does not mention --%s", name, f.Name)
			}
			if _, alias := c.aliases[f.Name]; alias {
				return
			}
			line := helpLine(out, "--"+f.Name)
			if f.Usage == "" || !strings.Contains(line, f.Usage) || !strings.Contains(line, "default "+defaultShown(f)) {
				t.Errorf("%s --help: the line of --%s lacks its description %q or default %q: %q", name, f.Name, f.Usage, f.DefValue, line)
			}
		})
		if c.fs.Lookup("json") == nil || n == 0 {
			t.Errorf("%s has no --json flag", name)
		}
	}
	for name, c := range commands {
		if c.subs == nil {
			continue
		}
		code, out, _ := runCLI(t, name, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d", name, code)
		}
		for sub := range c.subs {
			if !strings.Contains(out, "  "+sub+" ") {
				t.Errorf("%s --help does not list %s:\n%s", name, sub, out)
			}
		}
	}
}

func helpLine(help, flagName string) string {
	for _, l := range strings.Split(help, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), flagName+" ") || strings.TrimSpace(l) == flagName {
			return l
		}
	}
	return ""
}

func defaultShown(f *flag.Flag) string {
	if f.DefValue == "" {
		return "none"
	}
	return f.DefValue
}

// TestHelpAndNoCommand: `divellm help` lists every command on one line each and exits
// 0; `divellm` alone prints the list and exits 2; `divellm help CMD` is CMD --help.
func TestHelpAndNoCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "help")
	if code != 0 || errOut != "" {
		t.Fatalf("help: exit %d, stderr %q", code, errOut)
	}
	for name, c := range commands {
		var found []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "  "+name+" ") {
				found = append(found, l)
			}
		}
		if len(found) != 1 || !strings.Contains(found[0], firstLine(c.summary)) {
			t.Errorf("help lists %s as %q", name, found)
		}
	}
	code, out2, errOut := runCLI(t)
	if code != 2 || out2 != out || strings.Count(errOut, "\n") != 1 {
		t.Errorf("no command: exit %d, stderr %q", code, errOut)
	}
	_, a, _ := runCLI(t, "help", "generate")
	_, b, _ := runCLI(t, "generate", "--help")
	if a != b || !strings.Contains(a, "--max-new-tokens") {
		t.Errorf("help generate:\n%s\ngenerate --help:\n%s", a, b)
	}
}

// TestJSONOnEveryCommand: --json prints exactly one line of valid JSON without HTML
// escaping; without it the same command prints its text form.
func TestJSONOnEveryCommand(t *testing.T) {
	skipWithoutShipped(t)
	bert := filepath.Join(hfFixtures, "tiny-bert")
	out := t.TempDir()
	corpus := writeCorpus(t, t.TempDir(), 40)
	for _, args := range [][]string{
		{"version"},
		{"tokenize", "--tokenizer", "gpt-tiny-zh", "告警<|endoftext|>"},
		{"generate", "--model", "gpt-tiny-zh", "--max-new-tokens", "4", "--temperature", "0", "磁盘"},
		{"fill-mask", "--model", "bert-tiny-zh", "磁盘[MASK]了"},
		{"attention", "--model", "gpt-tiny-zh", "--layer", "0", "磁盘已满"},
		{"eval", "--model", "gpt-tiny-zh", "--data", corpus, "--max-batches", "1"},
		{"pipeline", "fill-mask", "--model", bert, "我们爱北京，它很[MASK]。"},
		{"pipeline", "text-classification", "--model", bert, "我们"},
		{"pipeline", "feature-extraction", "--model", bert, "我们"},
		{"pipeline", "text-generation", "--model", "gpt-tiny-zh", "--max-new-tokens", "3", "磁盘"},
		{"pipeline", "question-answering", "--model", filepath.Join(hfFixtures, "tiny-bert-qa-zh"), "--question", "谁？", "--context", "我们爱北京。"},
		{"quantize", "--model", "gpt-tiny-zh", "--out", filepath.Join(out, "q")},
		{"kernel", "spec"},
		{"bench", "quant", "--shapes", "2x32x48", "--reps", "1", "--time", "1ms", "--gomlx=false"},
	} {
		code, js, errOut := runCLI(t, append(args, "--json")...)
		if code != 0 {
			t.Errorf("%q --json: exit %d, stderr %q", args, code, errOut)
			continue
		}
		if strings.Count(js, "\n") != 1 || !strings.HasSuffix(js, "\n") || !json.Valid([]byte(js)) {
			t.Errorf("%q --json: not one line of JSON: %q", args, js)
		}
		if strings.Contains(js, `\u003c`) || strings.Contains(js, `\u003e`) || strings.Contains(js, `\u0026`) {
			t.Errorf("%q --json: HTML-escaped output %q", args, js)
		}
		if args[0] == "quantize" {
			continue // the directory now exists and is replaced by the text run below
		}
		code, text, _ := runCLI(t, args...)
		if code != 0 || text == js || json.Valid([]byte(text)) && args[0] != "kernel" {
			t.Errorf("%q: the text form is JSON or equal to --json: %q", args, text)
		}
	}
	// tokenize's JSON keeps "<|endoftext|>" readable.
	_, js, _ := runCLI(t, "tokenize", "--json", "a<|endoftext|>")
	if !strings.Contains(js, `"text":"<|endoftext|>"`) {
		t.Errorf("tokenize --json: %s", js)
	}
}

func skipWithoutShipped(t *testing.T) {
	t.Helper()
	for _, d := range []string{shippedGPT, shippedBERT} {
		if code, _, _ := runCLI(t, "tokenize", "--tokenizer", d, "x"); code != 0 {
			t.Skipf("%s not built (make models)", d)
		}
	}
}

// TestFlagAliases: the old flag names are contracts: each gives the same result as the
// new name.
func TestFlagAliases(t *testing.T) {
	skipWithoutShipped(t)
	corpus := writeCorpus(t, t.TempDir(), 40)
	same := func(a, b []string) {
		t.Helper()
		ca, oa, ea := runCLI(t, a...)
		cb, ob, eb := runCLI(t, b...)
		if ca != 0 || cb != 0 || oa != ob || oa == "" {
			t.Errorf("%q → %d %q (%s)\n%q → %d %q (%s)", a, ca, oa, ea, b, cb, ob, eb)
		}
	}
	gen := []string{"generate", "--model", "gpt-tiny-zh", "--temperature", "1", "--seed", "5"}
	same(append(gen, "--text", "磁盘", "--max-new-tokens", "6"), append(gen, "--prompt", "磁盘", "--max-tokens", "6"))
	same(append(gen, "--max-new-tokens", "6", "磁盘"), append(gen, "--prompt", "磁盘", "--max-tokens", "6"))
	same([]string{"pipeline", "text-generation", "--model", "gpt-tiny-zh", "--text", "磁盘", "--max-new-tokens", "3"},
		[]string{"pipeline", "text-generation", "--model", "gpt-tiny-zh", "--prompt", "磁盘", "--max-tokens", "3"})
	same([]string{"eval", "--model", "gpt-tiny-zh", "--data", corpus, "--max-batches", "1"},
		[]string{"eval", "--model", "gpt-tiny-zh", "--corpus", corpus, "--max-batches", "1"})
	same([]string{"fill-mask", "--model", "bert-tiny-zh", "--text", "磁盘[MASK]了"}, []string{"fill-mask", "--model", "bert-tiny-zh", "磁盘[MASK]了"})
	same([]string{"tokenize", "--text", "磁盘"}, []string{"tokenize", "磁盘"})

	// quantize --layers (old) = --per-layer.
	var a, b quantizeResult
	for i, flagName := range []string{"--layers", "--per-layer"} {
		code, out, errOut := runCLI(t, "quantize", "--json", "--model", "gpt-tiny-zh", "--out", filepath.Join(t.TempDir(), "q"), flagName)
		if code != 0 {
			t.Fatalf("quantize %s: %s", flagName, errOut)
		}
		json.Unmarshal([]byte(out), []*quantizeResult{&a, &b}[i])
	}
	if len(a.Layers) != 16 || len(b.Layers) != 16 || fmt.Sprint(a.Layers) != fmt.Sprint(b.Layers) {
		t.Errorf("--layers %d layers, --per-layer %d", len(a.Layers), len(b.Layers))
	}
	// fill-mask's --json is no longer a no-op: text and JSON differ.
	_, text, _ := runCLI(t, "fill-mask", "--model", "bert-tiny-zh", "磁盘[MASK]了")
	_, js, _ := runCLI(t, "fill-mask", "--json", "--model", "bert-tiny-zh", "磁盘[MASK]了")
	var f fillMaskJSON
	if json.Unmarshal([]byte(js), &f) != nil || json.Valid([]byte(text)) || !strings.HasPrefix(text, f.Filled+"\n") {
		t.Errorf("fill-mask text %q, json %q", text, js)
	}
}

// TestRegisterCompatibility: a command written to the first contract (register with its
// own FlagSet) still works: --help lists its flags, usage errors exit 2, other errors 1,
// and its progress goes to the stderr the runner was given.
func TestRegisterCompatibility(t *testing.T) {
	if commands["test-legacy"] == nil {
		register("test-legacy", "a command in the old style", func(args []string, w io.Writer) error {
			fs := newFlags("test-legacy")
			n := fs.Int("n", 3, "how many lines")
			fail := fs.Bool("fail", false, "fail at run time")
			if _, err := parseFlags(fs, args); err != nil {
				return err
			}
			if *n < 0 {
				return usagef("--n must be ≥ 0")
			}
			fmt.Fprintln(progressOut, "progress")
			if *fail {
				return errors.New("it failed")
			}
			for range *n {
				fmt.Fprintln(w, "line")
			}
			return nil
		})
	}
	defer delete(commands, "test-legacy")
	code, out, errOut := runCLI(t, "test-legacy", "--n", "2")
	if code != 0 || out != "line\nline\n" || errOut != "progress\n" {
		t.Errorf("run: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "test-legacy", "--help")
	if code != 0 || !strings.Contains(out, "--n N") || !strings.Contains(out, "how many lines (default 3)") {
		t.Errorf("--help: %d %q", code, out)
	}
	if code, _, errOut = runCLI(t, "test-legacy", "--n", "-1"); code != 2 || errOut != "divellm test-legacy: --n must be ≥ 0\n" {
		t.Errorf("usage error: %d %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "test-legacy", "--fail"); code != 1 || !strings.HasSuffix(errOut, "divellm test-legacy: it failed\n") {
		t.Errorf("runtime error: %d %q", code, errOut)
	}
}

// TestPanicIsOneLine: a panic inside a command becomes one line and exit 1.
func TestPanicIsOneLine(t *testing.T) {
	define(&command{name: "test-panic", run: func(c *cmdCtx) (any, error) {
		if _, err := c.Parse(); err != nil {
			return nil, err
		}
		var m map[string]int
		m["x"] = 1 // assignment to a nil map
		return nil, nil
	}})
	defer delete(commands, "test-panic")
	code, out, errOut := runCLI(t, "test-panic")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "internal error") || strings.Contains(errOut, "goroutine") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDisplayWidthAndTable(t *testing.T) {
	for s, want := range map[string]int{"": 0, "ab": 2, "汉字": 4, "汉字ab": 6, "，。": 4, "e\u0301": 1, "ｈｉ": 4} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
	var b bytes.Buffer
	writeTable(&b, [][]string{{"token", "prob"}, {"了", "0.51"}, {"超市", "0.10"}, {"ab", "0.01"}}, 2)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.IndexAny(l, "p0")
		if w := displayWidth(l[:i]); col >= 0 && w != col {
			t.Errorf("misaligned:\n%s", b.String())
		} else {
			col = w
		}
	}
	if col != len("token")+2 {
		t.Errorf("second column at %d:\n%s", col, b.String())
	}
}
