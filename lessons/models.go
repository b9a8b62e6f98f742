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
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/divellm/divellm/llm"
)

// Module is the Go module path of the project, used to recognise the checkout.
const Module = "github.com/divellm/divellm"

// The pretrained tiny models shipped in models/ (made by `make models`).
const (
	GPTTinyZH  = "gpt-tiny-zh"  // causal LM on the project's Chinese corpus
	BERTTinyZH = "bert-tiny-zh" // masked LM on the same corpus
)

// Root returns the checkout's root directory: $DIVELLM_ROOT if set, else the first
// directory upwards from the working directory whose go.mod declares [Module].
func Root() (string, error) {
	if r := os.Getenv("DIVELLM_ROOT"); r != "" {
		if isRoot(r) {
			return r, nil
		}
		return "", fmt.Errorf("DIVELLM_ROOT=%s is not a divellm checkout (no go.mod for %s)", r, Module)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isRoot(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("cannot find the divellm checkout above %s: set DIVELLM_ROOT to it", dir)
}

func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == Module
		}
	}
	return false
}

// ModelDir returns the directory of a shipped model (e.g. [GPTTinyZH]), or a path as given
// if name is already a directory with a config.json.
func ModelDir(name string) (string, error) {
	if _, err := os.Stat(filepath.Join(name, "config.json")); err == nil {
		return name, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "models", name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("model %q not found in %s: run `make models` in the checkout", name, filepath.Join(root, "models"))
	}
	return dir, nil
}

// LoadModel loads a shipped model by name (or a checkpoint directory).
func LoadModel(name string) (*llm.Model, error) {
	dir, err := ModelDir(name)
	if err != nil {
		return nil, err
	}
	return llm.Load(dir)
}
