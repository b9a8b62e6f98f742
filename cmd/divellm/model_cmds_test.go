package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/llm"
)

// runCLI runs the CLI in-process and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("divellm %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// lastJSON decodes the last non-empty line of out into v.
func lastJSON(t *testing.T, out string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), v); err != nil {
		t.Fatalf("last stdout line is not JSON: %v\n%s", err, last)
	}
}

// writeCorpus writes a small, learnable Chinese corpus: short subject-verb-object lines.
func writeCorpus(t *testing.T, dir string, lines int) string {
	t.Helper()
	subj := []string{"小猫", "小狗", "老师", "学生", "我们", "他们"}
	verb := []string{"喜欢", "看见", "吃了", "找到", "想要"}
	obj := []string{"苹果", "鱼", "书", "太阳", "月亮", "花"}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range lines {
		b.WriteString(subj[r.IntN(len(subj))] + verb[r.IntN(len(verb))] + obj[r.IntN(len(obj))] + "。\n")
	}
	path := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var tinyModelFlags = []string{"--d-model", "32", "--heads", "2", "--layers", "2", "--seq-len", "32", "--batch", "8", "--lr", "3e-3", "--seed", "7"}

func TestModelCommands(t *testing.T) {
	dir := t.TempDir()
	corpus := writeCorpus(t, dir, 300)
	gptDir := filepath.Join(dir, "gpt")
	bertDir := filepath.Join(dir, "bert")

	var gptRes map[string]any
	t.Run("pretrain gpt", func(t *testing.T) {
		code, out, progress := runCLI(t, append([]string{"pretrain", "--json", "--arch", "gpt", "--corpus", corpus, "--steps", "30", "--out", gptDir}, tinyModelFlags...)...)
		if code != 0 {
			t.Fatalf("pretrain: exit %d, stderr %q", code, progress)
		}
		lastJSON(t, out, &gptRes)
		for _, k := range []string{"train_loss", "val_loss", "tokens_per_sec", "initial_val_loss", "steps", "params"} {
			if _, ok := gptRes[k].(float64); !ok {
				t.Fatalf("result lacks numeric %q: %v", k, gptRes)
			}
		}
		if v, v0 := gptRes["val_loss"].(float64), gptRes["initial_val_loss"].(float64); !(v < v0-0.3) {
			t.Fatalf("val_loss %g did not fall below initial %g", v, v0)
		}
		if gptRes["steps"].(float64) != 30 || gptRes["tokens_per_sec"].(float64) <= 0 {
			t.Fatalf("steps/tokens_per_sec: %v", gptRes)
		}
		// One progress line per evaluation (every 3 steps for 30 steps), each with an ETA.
		var steps int
		for _, l := range strings.Split(progress, "\n") {
			if strings.HasPrefix(l, "step ") {
				steps++
				if !strings.Contains(l, "val ") || !strings.Contains(l, "ETA ") || !strings.Contains(l, "tok/s") {
					t.Fatalf("progress line lacks fields: %q", l)
				}
			}
		}
		if steps != 10 {
			t.Fatalf("%d progress lines, want 10:\n%s", steps, progress)
		}
		m, err := llm.Load(gptDir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Arch != llm.GPT || m.Config.DModel != 32 || m.Config.Layers != 2 || m.Tokenizer == nil || m.Tokenizer.Kind() != "char" {
			t.Fatalf("checkpoint config %+v, tokenizer %v", m.Config, m.Tokenizer)
		}
		if int(gptRes["params"].(float64)) != m.Weights.Count() {
			t.Fatalf("params %v, checkpoint has %d", gptRes["params"], m.Weights.Count())
		}
		// Every corpus character is in the vocabulary (6 specials + distinct characters).
		data, _ := os.ReadFile(corpus)
		chars := map[rune]bool{}
		for _, r := range string(data) {
			chars[r] = true
		}
		if m.Tokenizer.VocabSize() != 6+len(chars) {
			t.Fatalf("vocab %d, want %d", m.Tokenizer.VocabSize(), 6+len(chars))
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("resume", func(t *testing.T) {
		out := mustRun(t, append([]string{"pretrain", "--json", "--arch", "gpt", "--corpus", corpus, "--steps", "36", "--out", gptDir, "--resume", "--quiet"}, tinyModelFlags...)...)
		var r map[string]any
		lastJSON(t, out, &r)
		if r["resumed"] != true || r["resumed_from_step"].(float64) != 30 || r["steps"].(float64) != 36 {
			t.Fatalf("resume result %v", r)
		}
		// The run starts from the checkpoint: its initial loss is the 30-step model's.
		if math.Abs(r["initial_val_loss"].(float64)-gptRes["val_loss"].(float64)) > 1e-4 {
			t.Fatalf("resumed initial val loss %v, checkpoint had %v", r["initial_val_loss"], gptRes["val_loss"])
		}
		st, err := os.ReadFile(filepath.Join(gptDir, "trainer_state.json"))
		if err != nil || !strings.Contains(string(st), `"global_step": 36`) {
			t.Fatalf("trainer_state.json %s (%v)", st, err)
		}
	})

	t.Run("generate", func(t *testing.T) {
		args := []string{"generate", "--model", gptDir, "--prompt", "小猫", "--max-tokens", "12", "--temperature", "1", "--seed", "3", "--stop-at-eos=false"}
		a, b := mustRun(t, args...), mustRun(t, args...)
		if a != b {
			t.Fatalf("same seed, different text: %q vs %q", a, b)
		}
		if !strings.HasPrefix(a, "小猫") {
			t.Fatalf("output %q does not start with the prompt", a)
		}
		// The seed matters: at temperature 1, other seeds sample other texts.
		distinct := map[string]bool{a: true}
		for _, s := range []string{"4", "5", "6"} {
			distinct[mustRun(t, append(args, "--seed", s)...)] = true
		}
		if len(distinct) < 2 {
			t.Fatalf("four seeds gave the same text %q: --seed is ignored", a)
		}
		var g struct {
			Prompt, Text, Generated string
			IDs                     []int `json:"ids"`
			TokensPerSec            float64
			Steps                   []llm.GenStep
		}
		lastJSON(t, mustRun(t, append(args, "--json")...), &g)
		if g.Prompt != "小猫" || g.Text != "小猫"+g.Generated || strings.TrimSuffix(a, "\n") != g.Text {
			t.Fatalf("json %+v vs text %q", g, a)
		}
		if len(g.IDs) != 12 || len(g.Steps) != 12 {
			t.Fatalf("%d ids, %d steps, want 12", len(g.IDs), len(g.Steps))
		}
		m, err := llm.Load(gptDir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Tokenizer.Decode(g.IDs) != g.Generated {
			t.Fatalf("ids decode to %q, generated %q", m.Tokenizer.Decode(g.IDs), g.Generated)
		}
		for i, s := range g.Steps {
			if s.ID != g.IDs[i] || s.Prob <= 0 || s.Prob > 1 {
				t.Fatalf("step %d: %+v", i, s)
			}
		}
		// The KV cache must not change what is sampled.
		if c := mustRun(t, append(args, "--no-cache")...); c != a {
			t.Fatalf("--no-cache gave %q, cached %q", c, a)
		}
	})

	t.Run("attention", func(t *testing.T) {
		text := "小狗看见月亮。"
		var r struct {
			Tokens []struct {
				ID         int
				Text       string
				Start, End int
			}
			Attentions [][][][]float64
		}
		lastJSON(t, mustRun(t, "attention", "--model", gptDir, "--json", text), &r)
		n := utf8.RuneCountInString(text)
		if len(r.Tokens) != n {
			t.Fatalf("%d tokens, want %d (one per character, no [CLS] for GPT)", len(r.Tokens), n)
		}
		for _, tk := range r.Tokens {
			if text[tk.Start:tk.End] != tk.Text {
				t.Fatalf("token %+v does not cover its text", tk)
			}
		}
		if len(r.Attentions) != 2 {
			t.Fatalf("%d layers, want 2", len(r.Attentions))
		}
		for l, heads := range r.Attentions {
			if len(heads) != 2 {
				t.Fatalf("layer %d: %d heads, want 2", l, len(heads))
			}
			for h, rows := range heads {
				if len(rows) != n {
					t.Fatalf("layer %d head %d: %d rows", l, h, len(rows))
				}
				for q, row := range rows {
					if len(row) != n {
						t.Fatalf("row length %d, want %d", len(row), n)
					}
					sum := 0.0
					for k, p := range row {
						sum += p
						if k > q && p != 0 {
							t.Fatalf("GPT attends to the future: [%d][%d][%d][%d] = %g", l, h, q, k, p)
						}
					}
					if math.Abs(sum-1) > 1e-4 {
						t.Fatalf("layer %d head %d row %d sums to %g", l, h, q, sum)
					}
				}
			}
		}
		// --layer keeps one layer, identical to the full output's.
		var one struct{ Attentions [][][][]float64 }
		lastJSON(t, mustRun(t, "attention", "--model", gptDir, "--json", "--layer", "1", text), &one)
		if len(one.Attentions) != 1 || fmt.Sprint(one.Attentions[0]) != fmt.Sprint(r.Attentions[1]) {
			t.Fatalf("--layer 1 differs from layer 1 of the full output")
		}
		summary := mustRun(t, "attention", "--model", gptDir, text)
		if strings.Count(summary, "layer ") != 4 || !strings.Contains(summary, "小→小 1.00") {
			t.Fatalf("summary:\n%s", summary)
		}
	})

	t.Run("eval", func(t *testing.T) {
		var e struct {
			Loss, Perplexity float64
			Tokens           int
		}
		lastJSON(t, mustRun(t, "eval", "--json", "--model", gptDir, "--data", corpus, "--seq-len", "32", "--max-batches", "4"), &e)
		if e.Tokens != 4*16*32 {
			t.Fatalf("tokens %d, want 4 batches × 16 × 32", e.Tokens)
		}
		if math.Abs(e.Perplexity-math.Exp(e.Loss)) > 1e-9*e.Perplexity {
			t.Fatalf("perplexity %g != exp(loss %g)", e.Perplexity, e.Loss)
		}
		// Trained on this text: far better than the initial (≈ uniform) loss.
		if e.Loss <= 0 || e.Loss > gptRes["initial_val_loss"].(float64)-0.3 {
			t.Fatalf("eval loss %g, initial val loss %v", e.Loss, gptRes["initial_val_loss"])
		}
	})

	t.Run("pretrain bert + fill-mask", func(t *testing.T) {
		out := mustRun(t, append([]string{"pretrain", "--json", "--arch", "bert", "--corpus", corpus, "--steps", "30", "--out", bertDir, "--quiet"}, tinyModelFlags...)...)
		var r map[string]any
		lastJSON(t, out, &r)
		if r["arch"] != "bert" || !(r["val_loss"].(float64) < r["initial_val_loss"].(float64)) {
			t.Fatalf("bert result %v", r)
		}
		m, err := llm.Load(bertDir)
		if err != nil {
			t.Fatal(err)
		}
		if h := m.Heads(); !h.MLM || !h.Pooler {
			t.Fatalf("heads %+v, want MLM and pooler", h)
		}
		var f struct {
			Tokens []struct {
				ID   int
				Text string
			}
			Masks []struct {
				Position   int
				Candidates []struct {
					Token string
					ID    int
					Prob  float64
				}
			}
			Filled string
		}
		lastJSON(t, mustRun(t, "fill-mask", "--model", bertDir, "--json", "小猫[MASK]欢鱼。"), &f)
		if len(f.Tokens) != 8 || f.Tokens[0].Text != "[CLS]" || f.Tokens[7].Text != "[SEP]" || f.Tokens[3].Text != "[MASK]" {
			t.Fatalf("tokens %+v", f.Tokens)
		}
		if len(f.Masks) != 1 || f.Masks[0].Position != 3 {
			t.Fatalf("masks %+v", f.Masks)
		}
		c := f.Masks[0].Candidates
		if len(c) != 5 {
			t.Fatalf("%d candidates, want 5", len(c))
		}
		sum := 0.0
		for i, x := range c {
			sum += x.Prob
			if x.Prob <= 0 || (i > 0 && x.Prob > c[i-1].Prob) || m.Tokenizer.IDToToken(x.ID) != x.Token {
				t.Fatalf("candidates not descending/valid: %+v", c)
			}
		}
		if sum > 1+1e-9 {
			t.Fatalf("top-5 probabilities sum to %g > 1", sum)
		}
		if f.Filled != "小猫"+c[0].Token+"欢鱼。" {
			t.Fatalf("filled %q", f.Filled)
		}
		lastJSON(t, mustRun(t, "fill-mask", "--json", "--model", bertDir, "--top-k", "2", "[MASK]狗[MASK]"), &f)
		if len(f.Masks) != 2 || f.Masks[0].Position != 1 || f.Masks[1].Position != 3 || len(f.Masks[1].Candidates) != 2 {
			t.Fatalf("two masks, top-2: %+v", f.Masks)
		}
		// BERT attention: [CLS] … [SEP], bidirectional rows summing to 1.
		var a struct {
			Tokens     []struct{ Text string }
			Attentions [][][][]float64
		}
		lastJSON(t, mustRun(t, "attention", "--model", bertDir, "--json", "小狗"), &a)
		if len(a.Tokens) != 4 || a.Tokens[0].Text != "[CLS]" || len(a.Attentions[0][0]) != 4 || a.Attentions[0][0][0][3] == 0 {
			t.Fatalf("bert attention tokens %+v, first row %v", a.Tokens, a.Attentions[0][0][0])
		}
		var e struct{ Loss, Perplexity float64 }
		lastJSON(t, mustRun(t, "eval", "--json", "--model", bertDir, "--data", corpus, "--max-batches", "2"), &e)
		if !(e.Loss > 0) || math.Abs(e.Perplexity-math.Exp(e.Loss)) > 1e-9*e.Perplexity {
			t.Fatalf("bert eval %+v", e)
		}
	})

	t.Run("bad input exits 2 with one stderr line", func(t *testing.T) {
		empty := filepath.Join(dir, "empty.txt")
		os.WriteFile(empty, []byte(" \n"), 0o644)
		binary := filepath.Join(dir, "latin1.txt")
		os.WriteFile(binary, []byte("caf\xe9 au lait\n"), 0o644)
		short := filepath.Join(dir, "short.txt")
		os.WriteFile(short, []byte("小猫\n"), 0o644)
		precious := filepath.Join(dir, "precious")
		os.MkdirAll(precious, 0o755)
		os.WriteFile(filepath.Join(precious, "notes.txt"), []byte("keep me"), 0o644)
		missing := filepath.Join(dir, "missing")
		pre := func(extra ...string) []string {
			return append([]string{"pretrain", "--arch", "gpt", "--corpus", corpus, "--steps", "5", "--out", filepath.Join(dir, "x"), "--quiet"}, extra...)
		}
		cases := [][]string{
			{"pretrain", "--steps", "5", "--out", filepath.Join(dir, "x")},
			pre("--corpus", missing),
			pre("--corpus", empty),
			pre("--corpus", binary),
			pre("--corpus", short),
			pre("--arch", "t5"),
			pre("--steps", "0"),
			pre("--steps", "many"),
			pre("--tokenizer", "bpe=10"),
			pre("--tokenizer", "sentencepiece"),
			pre("--arch", "bert", "--tokenizer", "bpe=300"),
			pre("--out", precious),
			pre("--d-model", "30", "--heads", "4"),
			pre("--seq-len", "200", "--max-pos", "64"),
			pre("--no-such-flag"),
			{"generate", "--prompt", "小猫"},
			{"generate", "--model", missing, "--prompt", "小猫"},
			{"generate", "--model", gptDir, "--prompt", ""},
			{"generate", "--model", gptDir, "--prompt", "小猫", "--max-tokens", "1000"},
			{"generate", "--model", gptDir, "--prompt", "小猫", "--top-p", "2"},
			{"generate", "--model", bertDir, "--prompt", "小猫"},
			{"generate", "--model", corpus, "--prompt", "小猫"},
			{"attention", "--model", gptDir},
			{"attention", "--model", gptDir, "--layer", "9", "小猫"},
			{"attention", "--model", missing, "小猫"},
			{"fill-mask", "--model", gptDir, "小猫[MASK]"},
			{"fill-mask", "--model", bertDir, "小猫"},
			{"fill-mask", "--model", bertDir, ""},
			{"fill-mask", "--model", bertDir, "--top-k", "0", "[MASK]"},
			{"eval", "--model", gptDir},
			{"eval", "--model", gptDir, "--data", empty},
			{"eval", "--model", gptDir, "--data", missing},
			{"eval", "--model", gptDir, "--data", corpus, "--seq-len", "2"},
		}
		for _, args := range cases {
			code, out, errOut := runCLI(t, args...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "divellm "+args[0]+": ") {
				t.Errorf("divellm %q: exit %d, stdout %q, stderr %q; want exit 2 and one stderr line", args, code, out, errOut)
			}
			if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
				t.Errorf("divellm %q: stack trace on stderr: %q", args, errOut)
			}
		}
		if data, err := os.ReadFile(filepath.Join(precious, "notes.txt")); err != nil || string(data) != "keep me" {
			t.Fatalf("pretrain touched a non-checkpoint --out directory: %q %v", data, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Fatalf("a failed pretrain left a checkpoint behind")
		}
	})
}
