// Package lessons holds what the weekly notebooks share: finding the checkout and the
// pretrained tiny models that ship with it. Week-specific helpers live in lessons/weekN,
// datasets in lessons/data.
//
// GoNB runs every notebook cell as a new program, so nothing survives between cells in
// memory. Expensive results (trained models) therefore live on disk, and loading one is
// fast (a few milliseconds for the shipped tiny models), so every cell can simply call
// [LoadModel].
package lessons

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub"
)

// Module is the Go module path of the project, used to recognise the checkout.
const Module = checkout.Module

// The pretrained tiny models shipped in models/ (made by `make models`).
const (
	GPTTinyZH  = "gpt-tiny-zh"  // causal LM on the project's Chinese corpus
	BERTTinyZH = "bert-tiny-zh" // masked LM on the same corpus

	// BERTTinyZHQA is bert-tiny-zh fine-tuned for extractive question answering (span
	// head qa_outputs) on lessons/data/qa by `divellm train-qa` (week 3).
	BERTTinyZHQA = "bert-tiny-zh-qa"
	// BERTTinyZHAlerts is bert-tiny-zh fine-tuned to classify alert logs by root cause
	// (lessons/data/alerts, eight classes), by `divellm finetune`.
	BERTTinyZHAlerts = "bert-tiny-zh-alerts"
	// BERTTinyZHAlertsLoRA is the same classifier trained with rank-8 LoRA adapters on the
	// attention projections (merged weights plus the PEFT adapter files).
	BERTTinyZHAlertsLoRA = "bert-tiny-zh-alerts-lora"

	// GPTTinyZHSFT is gpt-tiny-zh after supervised fine-tuning (answer-only loss) on the
	// ops Q&A pairs of lessons/data plus sloppy demonstrations, and GPTTinyZHDPO that
	// model after DPO on the preference pairs: the week-2 notebook's recipes
	// (lessons/week2/align), trained by `make models`.
	GPTTinyZHSFT = "gpt-tiny-zh-sft"
	GPTTinyZHDPO = "gpt-tiny-zh-dpo"
)

// Root returns the checkout's root directory (see [checkout.Root]).
func Root() (string, error) { return checkout.Root() }

// ErrNoModel is wrapped by [ModelDir]'s error when the name is neither a checkpoint
// directory, nor a shipped model, nor a model in the Hugging Face cache.
var ErrNoModel = errors.New("no such model")

// ModelDir is the one model resolver of divellm: the notebooks' [LoadModel] and every
// --model flag of the CLI go through it. name is, in this order:
//
//  1. a checkpoint directory (holding config.json, or only the backup an interrupted
//     save left, which llm.Load restores), used as given;
//  2. a shipped model name such as [GPTTinyZH]: models/NAME in the checkout (found
//     from $DIVELLM_ROOT, the working directory, or the executable's location);
//  3. a Hugging Face model id downloaded before (`divellm download ID`): its snapshot
//     of revision "main" in the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or
//     ~/.cache/huggingface/hub).
//
// It only finds the directory; it reads no weights. Anything else is an error wrapping
// [ErrNoModel] that says what was tried and what to do.
func ModelDir(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: the model name is empty (give a checkpoint directory, %s or %s)", ErrNoModel, GPTTinyZH, BERTTinyZH)
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		if isCheckpoint(name) {
			return name, nil
		}
		return "", fmt.Errorf("%w: %s is a directory but not a checkpoint (no config.json)", ErrNoModel, name)
	case err == nil:
		return "", fmt.Errorf("%w: %s is a file; give the checkpoint directory that holds config.json and model.safetensors", ErrNoModel, name)
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%w: %v", ErrNoModel, err)
	case hasBackup(name):
		return name, nil // llm.Load restores it
	}
	// Not a path: a shipped model, then the Hugging Face cache.
	var tried []string
	if !strings.ContainsAny(name, `/\`) && name != "." && name != ".." {
		for _, root := range checkout.Roots() {
			dir := filepath.Join(root, "models", name)
			if isCheckpoint(dir) {
				return dir, nil
			}
		}
		if rs := checkout.Roots(); len(rs) > 0 {
			tried = append(tried, "not a shipped model in "+filepath.Join(rs[0], "models")+shippedHint(name, rs[0]))
		} else {
			tried = append(tried, "no divellm checkout found to look for shipped models (set DIVELLM_ROOT)")
		}
	}
	if hub.CheckModelID(name) == nil {
		cache := hub.CacheDir()
		if snap, _, err := hub.CachedSnapshot(cache, name, "main"); err == nil && isCheckpoint(snap) {
			return snap, nil
		}
		tried = append(tried, fmt.Sprintf("not in the Hugging Face cache %s (fetch it with: divellm download %s)", cache, name))
	}
	what := "no such directory"
	if len(tried) > 0 {
		what += ", " + strings.Join(tried, ", ")
	}
	return "", fmt.Errorf("%w: %q: %s", ErrNoModel, name, what)
}

// isCheckpoint reports a directory with a config.json.
func isCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

// hasBackup reports the ".NAME.old" backup that an interrupted checkpoint save leaves
// in place of dir (see safetensors.RecoverDir).
func hasBackup(dir string) bool {
	dir = filepath.Clean(dir)
	return isCheckpoint(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old"))
}

// shippedHint lists the shipped models, or says how to build them.
func shippedHint(name, root string) string {
	entries, _ := os.ReadDir(filepath.Join(root, "models"))
	var have []string
	for _, e := range entries {
		if e.IsDir() && isCheckpoint(filepath.Join(root, "models", e.Name())) {
			have = append(have, e.Name())
		}
	}
	if name == GPTTinyZH || name == BERTTinyZH || name == BERTTinyZHQA || name == BERTTinyZHAlerts || name == GPTTinyZHSFT || name == GPTTinyZHDPO || len(have) == 0 {
		return " (run `make models` in the checkout)"
	}
	return " (have " + strings.Join(have, ", ") + ")"
}

// LoadModel loads a model found by [ModelDir]: a shipped model by name, a checkpoint
// directory, or a downloaded Hugging Face id.
func LoadModel(name string) (*llm.Model, error) {
	dir, err := ModelDir(name)
	if err != nil {
		return nil, err
	}
	return llm.Load(dir)
}
