package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/safetensors"
)

// The hostile-input suite of issue 10: every case runs the real CLI in-process and must
//   - exit with the expected code (2 usage, 1 runtime);
//   - print exactly one line on stderr, without "goroutine" or "panic", and nothing on
//     stdout;
//   - leave every file it was pointed at unchanged: the whole fixture tree (and the
//     shipped models) is hashed before and after, so a deleted, created or modified file
//     fails the case.
// The mutated checkpoints are made here from the shipped tiny models.

const shippedGPT, shippedBERT = "../../models/gpt-tiny-zh", "../../models/bert-tiny-zh"

// copyDir copies the regular files of src (one level, hidden files included) into dst.
func copyDir(t *testing.T, src, dst string) string {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// treeState describes every entry under root: regular files by content hash (or size
// and modification time above 64 MB), symbolic links by target, other files by type.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			state[rel] = "link " + target
		case d.IsDir():
			state[rel] = "dir"
		case !d.Type().IsRegular():
			state[rel] = info.Mode().Type().String()
		case info.Size() > 64<<20:
			state[rel] = fmt.Sprintf("big %d %d", info.Size(), info.ModTime().UnixNano())
		default:
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			state[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// stateDiff lists what changed between two tree states.
func stateDiff(before, after map[string]string) []string {
	var diff []string
	for p, v := range before {
		if w, ok := after[p]; !ok {
			diff = append(diff, "deleted "+p)
		} else if w != v {
			diff = append(diff, "changed "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diff = append(diff, "created "+p)
		}
	}
	sort.Strings(diff)
	return diff
}

// hostileFixtures builds the mutated checkpoints and hostile files under root.
type hostileFixtures struct {
	root                                   string
	gpt, bert                              string // intact copies of the shipped models
	nan, trunc, hugeCfg, badJSON           string // corrupt checkpoints (runtime errors)
	zeroCfg, urandomWeights, fifoWeights   string // special files inside checkpoints
	quantized, noTokenizer, corruptResume  string
	corpus, empty, latin1, fifo, zeroLink  string // text inputs
	bigSparse, notebookFIFO, precious, out string
}

func makeHostileFixtures(t *testing.T) *hostileFixtures {
	t.Helper()
	for _, d := range []string{shippedGPT, shippedBERT} {
		if _, err := os.Stat(filepath.Join(d, "model.safetensors")); err != nil {
			t.Skipf("%s not built (make models)", d)
		}
	}
	root := t.TempDir()
	f := &hostileFixtures{root: root}
	p := func(name string) string { return filepath.Join(root, name) }
	f.gpt = copyDir(t, shippedGPT, p("gpt"))
	f.bert = copyDir(t, shippedBERT, p("bert"))

	// NaN weights: three NaNs in the token embedding.
	f.nan = copyDir(t, shippedGPT, p("nan"))
	ts, md, err := safetensors.ReadAll(filepath.Join(f.nan, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var list []safetensors.Tensor
	for _, tn := range ts {
		if strings.HasSuffix(tn.Name, "wte.weight") {
			nan := math.Float32bits(float32(math.NaN()))
			for i := range 3 {
				tn.Data[4*i], tn.Data[4*i+1], tn.Data[4*i+2], tn.Data[4*i+3] = byte(nan), byte(nan>>8), byte(nan>>16), byte(nan>>24)
			}
		}
		list = append(list, *tn)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if err := safetensors.Write(filepath.Join(f.nan, "model.safetensors"), list, md); err != nil {
		t.Fatal(err)
	}

	// A safetensors file cut in half.
	f.trunc = copyDir(t, shippedGPT, p("trunc"))
	st := filepath.Join(f.trunc, "model.safetensors")
	info, _ := os.Stat(st)
	if err := os.Truncate(st, info.Size()/2); err != nil {
		t.Fatal(err)
	}

	// config.json claiming 10⁹ layers, and one that is not JSON.
	f.hugeCfg = copyDir(t, shippedGPT, p("huge-config"))
	cfg, _ := os.ReadFile(filepath.Join(f.hugeCfg, "config.json"))
	os.WriteFile(filepath.Join(f.hugeCfg, "config.json"), []byte(strings.Replace(string(cfg), `"n_layer": 4`, `"n_layer": 1000000000`, 1)), 0o644)
	f.badJSON = copyDir(t, shippedGPT, p("bad-json"))
	os.WriteFile(filepath.Join(f.badJSON, "config.json"), []byte(`{"model_type": "gpt2", "n_layer": `), 0o644)

	// Special files inside a checkpoint.
	f.zeroCfg = copyDir(t, shippedGPT, p("zero-config"))
	os.Remove(filepath.Join(f.zeroCfg, "config.json"))
	mustSymlink(t, "/dev/zero", filepath.Join(f.zeroCfg, "config.json"))
	f.urandomWeights = copyDir(t, shippedGPT, p("urandom-weights"))
	os.Remove(filepath.Join(f.urandomWeights, "model.safetensors"))
	mustSymlink(t, "/dev/urandom", filepath.Join(f.urandomWeights, "model.safetensors"))
	f.fifoWeights = copyDir(t, shippedGPT, p("fifo-weights"))
	os.Remove(filepath.Join(f.fifoWeights, "model.safetensors"))
	if err := syscall.Mkfifo(filepath.Join(f.fifoWeights, "model.safetensors"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A quantized checkpoint, a checkpoint without tokenizer files, and a training
	// checkpoint whose trainer_state.json is garbage.
	f.quantized = p("quantized")
	if _, err := qmodel.QuantizeDir(shippedGPT, f.quantized, qmodel.Options{Scheme: quant.Scheme{Bits: 8, Granularity: quant.PerChannel}}); err != nil {
		t.Fatal(err)
	}
	f.noTokenizer = copyDir(t, shippedGPT, p("no-tokenizer"))
	os.Remove(filepath.Join(f.noTokenizer, "vocab.txt"))
	os.Remove(filepath.Join(f.noTokenizer, "tokenizer_config.json"))
	f.corruptResume = copyDir(t, shippedGPT, p("corrupt-resume"))
	if err := safetensors.WriteFileInDir(f.corruptResume, "trainer_state.json", []byte("{not json")); err != nil {
		t.Fatal(err)
	}

	// Text inputs.
	f.corpus = writeCorpus(t, root, 200)
	f.empty = p("blank.txt")
	os.WriteFile(f.empty, []byte(" \n\t\n"), 0o644)
	f.latin1 = p("latin1.txt")
	os.WriteFile(f.latin1, []byte("caf\xe9 au lait\n"), 0o644)
	f.fifo = p("fifo.txt")
	if err := syscall.Mkfifo(f.fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	f.zeroLink = p("zero.txt")
	mustSymlink(t, "/dev/zero", f.zeroLink)
	f.bigSparse = p("big.txt") // 600 MB, sparse: over the text-file limit without using disk
	if err := os.WriteFile(f.bigSparse, []byte("小猫"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.bigSparse, 600<<20); err != nil {
		t.Fatal(err)
	}
	f.notebookFIFO = p("fifo.ipynb")
	if err := syscall.Mkfifo(f.notebookFIFO, 0o644); err != nil {
		t.Fatal(err)
	}

	// Output directories: one with the user's notes, and a path that must stay absent.
	f.precious = p("precious")
	os.MkdirAll(filepath.Join(f.precious, "sub"), 0o755)
	os.WriteFile(filepath.Join(f.precious, "notes.txt"), []byte("keep me"), 0o644)
	os.WriteFile(filepath.Join(f.precious, "config.json"), []byte("{}"), 0o644)
	f.out = p("new-out")
	return f
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if _, err := os.Stat(target); err != nil {
		t.Skipf("%s: %v", target, err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestHostileInputs is the table of issue 10: at least 40 hostile invocations across all
// commands.
func TestHostileInputs(t *testing.T) {
	f := makeHostileFixtures(t)
	t.Setenv("DIVELLM_MEMORY_BYTES", "8e9") // the memory estimates compare with 8 GB here
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	pre := func(extra ...string) []string {
		return append([]string{"pretrain", "--data", f.corpus, "--steps", "5", "--out", f.out, "--quiet",
			"--d-model", "16", "--heads", "2", "--layers", "1", "--seq-len", "16", "--batch", "2"}, extra...)
	}
	quantizeTo := func(model, out string, extra ...string) []string {
		return append([]string{"quantize", "--model", model, "--out", out}, extra...)
	}
	cases := []struct {
		args []string
		code int
		want string // a word the message must contain
	}{
		// Corrupt checkpoints: runtime errors (1) that say what is wrong.
		{[]string{"generate", "--model", f.nan, "你好"}, 1, "NaN"},
		{[]string{"generate", "--model", f.trunc, "你好"}, 1, "model.safetensors"},
		{[]string{"generate", "--model", f.hugeCfg, "你好"}, 1, "layers"},
		{[]string{"attention", "--model", f.badJSON, "你好"}, 1, "config.json"},
		{[]string{"generate", "--model", f.zeroCfg, "你好"}, 1, "config.json"},
		{[]string{"generate", "--model", f.urandomWeights, "你好"}, 1, "model.safetensors"},
		{[]string{"eval", "--model", f.fifoWeights, "--data", f.corpus}, 1, "named pipe"},
		{[]string{"eval", "--model", f.noTokenizer, "--data", f.corpus}, 1, "tokenizer"},
		{[]string{"pipeline", "feature-extraction", "--model", f.hugeCfg, "你好"}, 1, "layers"},
		{quantizeTo(f.nan, f.out), 1, "NaN"},
		{pre("--resume", "--out", f.corruptResume), 1, "trainer_state.json"},
		{[]string{"tokenize", "--tokenizer", f.zeroCfg, "你好"}, 1, "config.json"},
		// A quantized checkpoint where a float32 one is needed: it says so (usage, 2).
		{[]string{"generate", "--model", f.quantized, "你好"}, 2, "quantized checkpoint"},
		{[]string{"attention", "--model", f.quantized, "你好"}, 2, "quantized checkpoint"},
		{[]string{"eval", "--model", f.quantized, "--data", f.corpus}, 2, "quantized checkpoint"},
		{quantizeTo(f.quantized, f.out), 2, "quantized"},
		// Special and oversized input files.
		{[]string{"eval", "--model", f.gpt, "--data", "/dev/zero"}, 2, "character device"},
		{[]string{"eval", "--model", f.gpt, "--data", f.zeroLink}, 2, "character device"},
		{[]string{"eval", "--model", f.gpt, "--data", f.fifo}, 2, "named pipe"},
		{[]string{"eval", "--model", f.gpt, "--data", f.bigSparse}, 2, "limit"},
		{[]string{"eval", "--model", f.gpt, "--data", f.latin1}, 2, "UTF-8"},
		{[]string{"eval", "--model", f.gpt, "--data", f.empty}, 2, "empty"},
		{pre("--data", "/dev/urandom"), 2, "character device"},
		{[]string{"tokenize", "--tokenizer", "bpe=/dev/zero", "你好"}, 2, "character device"},
		{[]string{"pipeline", "question-answering", "--model", f.bert, "--question", "谁？", "--context-file", f.fifo}, 2, "named pipe"},
		{[]string{"run", f.notebookFIFO}, 2, "named pipe"},
		{[]string{"tokenize", "--tokenizer", "wordpiece=" + f.zeroLink, "你好"}, 2, "character device"},
		// Size flags: bounds, overflow, memory estimate.
		{[]string{"fill-mask", "--model", f.bert, "--top-k", "1e9", "我[MASK]"}, 2, "--top-k"},
		{[]string{"fill-mask", "--model", f.bert, "--top-k", "9223372036854775807", "我[MASK]"}, 2, "--top-k"},
		{[]string{"generate", "--model", f.gpt, "--max-tokens", "9223372036854775807", "你好"}, 2, "--max-new-tokens"},
		{[]string{"pipeline", "text-generation", "--model", f.gpt, "--max-new-tokens", "99999999999999999999", "你好"}, 2, "--max-new-tokens"},
		{pre("--layers", "1e9"), 2, "--layers"},
		{pre("--d-model", "1e6"), 2, "--d-model"},
		{pre("--batch", "1e8"), 2, "--batch"},
		{pre("--layers", "8", "--d-model", "1024", "--batch", "65536", "--seq-len", "1024"), 2, "memory"},
		{pre("--tokenizer", "bpe=1000000000"), 2, "bpe"},
		{[]string{"tokenize", "--tokenizer", "bpe=" + f.corpus, "--vocab-size", "1e9", "你好"}, 2, "--vocab-size"},
		{[]string{"eval", "--model", f.gpt, "--data", f.corpus, "--batch", "1e9"}, 2, "--batch"},
		{[]string{"quantize", "--model", f.gpt, "--out", f.out, "--method", "gptq", "--calib", f.corpus, "--calib-tokens", "-5"}, 2, "--calib-tokens"},
		{[]string{"pipeline", "question-answering", "--model", f.bert, "--question", "谁？", "--context", "我们", "--max-answer-len", "1e12"}, 2, "--max-answer-len"},
		{[]string{"attention", "--model", f.gpt, "--layer", "1e9", "你好"}, 2, "--layer"},
		{[]string{"pipeline", "question-answering", "--model", filepath.Join(hfFixtures, "tiny-bert-qa-zh"), "--question", "谁？", "--context", "我们", "--max-seq-len", "8", "--doc-stride", "6"}, 2, "--doc-stride"},
		{[]string{"bench", "quant", "--shapes", "16384x16384x16384"}, 2, "--shapes"},
		{[]string{"bench", "train", "--batch", "1e9"}, 2, "--batch"},
		{[]string{"kernel", "lab", "--port", "70000"}, 2, "--port"},
		// Non-finite floats (x < 0 is false for NaN).
		{pre("--lr", "NaN"), 2, "--lr"},
		{pre("--dropout", "NaN"), 2, "--dropout"},
		{[]string{"generate", "--model", f.gpt, "--temperature", "NaN", "你好"}, 2, "--temperature"},
		{[]string{"generate", "--model", f.gpt, "--top-p", "NaN", "你好"}, 2, "--top-p"},
		{[]string{"pipeline", "text-generation", "--model", f.gpt, "--temperature", "+Inf", "你好"}, 2, "--temperature"},
		// One rule for empty or whitespace-only text.
		{[]string{"generate", "--model", f.gpt, " \t "}, 2, "whitespace"},
		{[]string{"fill-mask", "--model", f.bert, "  "}, 2, "whitespace"},
		{[]string{"attention", "--model", f.gpt, "--text", "\n"}, 2, "whitespace"},
		{[]string{"pipeline", "text-classification", "--model", f.bert, " "}, 2, "whitespace"},
		// Output directories: never replaced unless divellm wrote them; --out ≠ --model.
		{quantizeTo(f.gpt, f.gpt), 2, "input model"},
		{quantizeTo(shippedGPT, shippedGPT), 2, "input model"},
		{quantizeTo(f.gpt, f.precious), 2, "refusing to replace"},
		{quantizeTo(f.gpt, f.out, "--granularity", "group=7"), 2, "group"},
		{pre("--out", f.precious), 2, "refusing to replace"},
		{pre("--out", f.corpus), 2, "not a directory"},
		{[]string{"download", "org/model", "--out", f.precious}, 2, "refusing to replace"},
		// Wrong model or arguments for the command.
		{[]string{"generate", "--model", f.bert, "你好"}, 2, "gpt2"},
		{[]string{"pipeline", "text-classification", "--model", f.gpt, "你好"}, 2, "classification head"},
		{[]string{"generate", "--model", filepath.Join(f.root, "missing"), "你好"}, 2, "no such"},
		{[]string{"generate", "--model", f.corpus, "你好"}, 2, "file"},
		{[]string{"download", "../x"}, 2, "x"},
		{[]string{"generate", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	shipped := treeState(t, "../../models")
	passed := 0
	for _, c := range cases {
		before := treeState(t, f.root)
		code, out, errOut := runCLI(t, c.args...)
		t.Logf("exit %d: %s", code, strings.TrimSpace(errOut))
		ok := true
		fail := func(format string, args ...any) {
			ok = false
			t.Errorf("divellm %q: "+format, append([]any{c.args}, args...)...)
		}
		if code != c.code {
			fail("exit %d, want %d (stderr %q)", code, c.code, errOut)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
			fail("stderr is not exactly one line: %q", errOut)
		}
		if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") || strings.Contains(errOut, "internal error") {
			fail("stack trace or internal error: %q", errOut)
		}
		if !strings.Contains(errOut, c.want) {
			fail("stderr %q does not mention %q", errOut, c.want)
		}
		if out != "" {
			fail("stdout %q, want nothing", out)
		}
		if d := stateDiff(before, treeState(t, f.root)); len(d) > 0 {
			fail("changed the files it was pointed at: %v", d)
		}
		if ok {
			passed++
		}
	}
	if d := stateDiff(shipped, treeState(t, "../../models")); len(d) > 0 {
		t.Errorf("the shipped models changed: %v", d)
	}
	t.Logf("%d of %d hostile cases pass", passed, len(cases))
}
