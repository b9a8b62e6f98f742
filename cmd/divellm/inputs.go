package main

// What the commands share to read their inputs: the model (--model), text (--text or
// the arguments), text files (--data, --calib, --context-file), output directories
// (--out) and a memory estimate for size flags. Each function classifies its errors
// where they arise: what the user gave wrongly is a usage error (exit 2), a file that
// cannot be read or a corrupt checkpoint is a runtime error (exit 1).

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/safetensors"
)

// modelUsage is the description of every --model flag.
const modelUsage = "the model: a checkpoint directory, a shipped model name (gpt-tiny-zh, bert-tiny-zh) or a Hugging Face id fetched with divellm download"

// maxTextBytes bounds a text file read whole (--data, --calib, --context-file): 512 MB
// of text is far more than these commands can use, and no file beyond it is read.
const maxTextBytes = 512 << 20

// resolveModel finds the directory of --model with the one resolver, lessons.ModelDir.
// A name that resolves to nothing is a usage error.
func resolveModel(flagName, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", usagef("--%s MODEL is required (a checkpoint directory, a shipped model such as %s, or a downloaded Hugging Face id)", flagName, lessons.GPTTinyZH)
	}
	dir, err := lessons.ModelDir(name)
	if err != nil {
		return "", usagef("--%s %v", flagName, strings.TrimPrefix(err.Error(), lessons.ErrNoModel.Error()+": "))
	}
	return dir, nil
}

// loadModel loads --model (see [resolveModel]) with its tokenizer. A name that finds no
// checkpoint, or a quantized checkpoint, is a usage error; a checkpoint that does not
// load (corrupt, unreadable, non-finite weights) or has no tokenizer is a runtime error.
func loadModel(name string) (*llm.Model, error) {
	m, err := loadModelAny(name)
	if err != nil {
		return nil, err
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("--model %s has no tokenizer files (vocab.txt, vocab.json + merges.txt or tokenizer.json)", name)
	}
	return m, nil
}

// loadModelAny is [loadModel] for commands that need no tokenizer (m.Tokenizer may be nil).
func loadModelAny(name string) (*llm.Model, error) {
	dir, err := resolveModel("model", name)
	if err != nil {
		return nil, err
	}
	if err := checkModelFiles(dir); err != nil {
		return nil, err
	}
	m, err := llm.Load(dir)
	if err != nil {
		if isQuantized(dir) {
			return nil, usagef("--model %s: %v", name, err) // the library says what reads it
		}
		return nil, err
	}
	return m, nil
}

// checkModelFiles refuses a checkpoint whose files are not regular files (a config.json
// that is a link to /dev/zero, a FIFO named model.safetensors) before anything opens them.
func checkModelFiles(dir string) error {
	for _, f := range hub.ModelFiles {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("checkpoint %s: %v", dir, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("checkpoint %s: %s is %s, not a regular file", dir, f, fileKind(st.Mode()))
		}
	}
	return nil
}

// isQuantized reports a directory written by `divellm quantize`.
func isQuantized(dir string) bool {
	path := filepath.Join(dir, "model.safetensors")
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Metadata["format"] == quant.FormatName
}

// needArch refuses a model of the wrong architecture for a command (a usage error).
func needArch(m *llm.Model, model string, arch llm.Arch, command, instead string) error {
	if m.Config.Arch == arch {
		return nil
	}
	return usagef("--model %s is a %s model; %s needs a %s model (%s)", model, m.Config.Arch, command, arch, instead)
}

// textInput returns the command's text: --text, or the positional arguments joined by
// spaces. The one rule for every command: text that is empty or only whitespace is
// refused (a usage error).
func textInput(flagName, flagValue string, rest []string, usage string) (string, error) {
	if flagValue != "" && len(rest) > 0 {
		return "", usagef("give the text either with --%s or as an argument, not both", flagName)
	}
	text := flagValue
	if text == "" {
		text = strings.Join(rest, " ")
	}
	if err := checkText(text, "the text"); err != nil {
		return "", usagef("%v; %s", err, usage)
	}
	return text, nil
}

// checkText applies the one rule for input text: not empty, not only whitespace, UTF-8.
func checkText(text, what string) error {
	if strings.TrimSpace(text) == "" {
		if text == "" {
			return usagef("%s is empty", what)
		}
		return usagef("%s is only whitespace", what)
	}
	if !utf8.ValidString(text) {
		return usagef("%s is not valid UTF-8", what)
	}
	return nil
}

// readTextFile reads a UTF-8 text file given by --flagName. A missing path, a path that
// is not a regular file (a directory, /dev/zero, a FIFO), a file over the size limit, or
// one that is empty or not UTF-8 is a usage error; a file that exists but cannot be
// read is a runtime error.
func readTextFile(flagName, path string) (string, error) {
	if path == "" {
		return "", usagef("--%s FILE is required", flagName)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", usagef("--%s: %v", flagName, err)
	}
	if !st.Mode().IsRegular() {
		return "", usagef("--%s %s is %s, not a text file", flagName, path, fileKind(st.Mode()))
	}
	if st.Size() > maxTextBytes {
		return "", usagef("--%s %s is %s, over the %s limit for a text file", flagName, path, humanBytes(st.Size()), humanBytes(maxTextBytes))
	}
	data, err := fileio.ReadFile(path, maxTextBytes)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flagName, err)
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return "", usagef("--%s %s is not UTF-8 text (invalid byte at offset %d)", flagName, filepath.Base(path), off)
	}
	if strings.TrimSpace(string(data)) == "" {
		return "", usagef("--%s %s is empty", flagName, path)
	}
	return string(data), nil
}

// fileKind names a file type for messages.
func fileKind(m fs.FileMode) string { return fileio.Kind(m) }

// checkOutDir applies the output-directory policy before any work: --out may be a new
// directory, an empty one, or a checkpoint divellm wrote (safetensors.CheckReplaceable);
// anything else, and the input checkpoint itself, is refused with one line and left
// untouched.
func checkOutDir(flagName, dir string, inputs ...string) error {
	if strings.TrimSpace(dir) == "" {
		return usagef("--%s DIR is required", flagName)
	}
	for _, in := range inputs {
		if in != "" && sameDir(in, dir) {
			return usagef("--%s %s is the input model's directory: write to a new directory", flagName, dir)
		}
	}
	if err := safetensors.CheckReplaceable(dir); err != nil {
		if errors.Is(err, safetensors.ErrNotReplaceable) {
			msg := strings.Replace(err.Error(), " ("+safetensors.ErrNotReplaceable.Error()+")", "", 1)
			return usagef("--%s: %s", flagName, msg)
		}
		return fmt.Errorf("--%s %s: %w", flagName, dir, err)
	}
	return nil
}

// sameDir reports whether a and b name the same directory (or would, once created).
func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(sa, sb)
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// ---- memory estimates for size flags ----

// memoryBudget is the memory a run may plan to use: the machine's physical memory
// ($DIVELLM_MEMORY_BYTES overrides it), or 8 GB when it cannot be read.
func memoryBudget() float64 {
	if s := os.Getenv("DIVELLM_MEMORY_BYTES"); s != "" {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v > 0 {
			return v
		}
	}
	if runtime.GOOS == "linux" {
		if f, err := os.Open("/proc/meminfo"); err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
					kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
					if err == nil && kb > 0 {
						return kb * 1024
					}
				}
			}
		}
	}
	return 8e9
}

// checkMemory refuses a run whose estimated memory exceeds the budget, with the estimate
// and what to lower in the message.
func checkMemory(what string, bytes float64, lower string) error {
	if budget := memoryBudget(); bytes > budget {
		return usagef("%s needs about %s of memory, more than this machine's %s: lower %s",
			what, humanBytes(int64(min(bytes, 9e18))), humanBytes(int64(budget)), lower)
	}
	return nil
}

// trainingBytes estimates the memory of training cfg on batches of batch×seqLen tokens:
// weights, gradients and AdamW's two moments (4 copies of the parameters), plus the
// activations kept for the backward pass (per layer: the block's inputs, q/k/v, the
// attention probabilities, the feed-forward hidden layer) and the logits with their
// gradient, all float32.
func trainingBytes(cfg llm.Config, batch, seqLen int) float64 {
	params := paramEstimate(cfg)
	tokens := float64(batch) * float64(seqLen)
	perLayer := tokens * (12*float64(cfg.DModel) + 2*float64(cfg.DFF) + 2*float64(cfg.Heads)*float64(seqLen))
	acts := float64(cfg.Layers)*perLayer + 3*tokens*float64(cfg.VocabSize)
	return 4 * (4*params + acts)
}

// forwardBytes estimates the memory of one forward pass without gradients (evaluation).
func forwardBytes(cfg llm.Config, batch, seqLen int) float64 {
	tokens := float64(batch) * float64(seqLen)
	perLayer := tokens * (6*float64(cfg.DModel) + float64(cfg.DFF) + float64(cfg.Heads)*float64(seqLen))
	return 4 * (paramEstimate(cfg) + 2*perLayer + 3*tokens*float64(cfg.VocabSize))
}

// paramEstimate counts the parameters cfg implies (embeddings, blocks, heads), within a
// few per cent, without building the model.
func paramEstimate(cfg llm.Config) float64 {
	d, f, v := float64(cfg.DModel), float64(cfg.DFF), float64(cfg.VocabSize)
	emb := (v + float64(cfg.MaxPos) + float64(cfg.TypeVocab)) * d
	block := 4*d*d + 2*d*f + 9*d + f
	heads := d*d + v + 2*d // BERT's MLM transform and bias, or slack for GPT
	return emb + float64(cfg.Layers)*block + heads
}

// humanBytes formats a byte count for messages: "9999 B", "12.3 kB", "64.0 MB", "1.2 GB".
func humanBytes(n int64) string {
	switch {
	case n < 10000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n < 1e12:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f TB", float64(n)/1e12)
}
