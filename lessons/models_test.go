package lessons

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/checkout"
)

func TestRootAndModels(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if !checkout.IsRoot(root) || filepath.Base(filepath.Join(root, "lessons")) != "lessons" {
		t.Fatalf("root %s", root)
	}
	for _, name := range []string{GPTTinyZH, BERTTinyZH} {
		if _, err := os.Stat(filepath.Join(root, "models", name, "config.json")); err != nil {
			t.Skipf("%s not built yet (make models)", name)
		}
		m, err := LoadModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Tokenizer == nil || m.Config.VocabSize != m.Tokenizer.VocabSize() {
			t.Fatalf("%s: tokenizer missing or vocab mismatch", name)
		}
	}
	if _, err := LoadModel("no-such-model"); err == nil {
		t.Fatal("loading a missing model should fail")
	}
	t.Setenv("DIVELLM_ROOT", t.TempDir())
	if _, err := Root(); err == nil {
		t.Fatal("a DIVELLM_ROOT without go.mod should be rejected")
	}
}

// TestModelDirResolves: the one resolver takes a checkpoint directory, a shipped model
// name and a Hugging Face id in the cache, and refuses anything else with ErrNoModel.
func TestModelDirResolves(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	shipped := filepath.Join(root, "models", GPTTinyZH)
	if _, err := os.Stat(filepath.Join(shipped, "config.json")); err != nil {
		t.Skipf("%s not built yet (make models)", GPTTinyZH)
	}
	// A shipped name → models/NAME; a directory → itself.
	if dir, err := ModelDir(GPTTinyZH); err != nil || dir != shipped {
		t.Errorf("ModelDir(%q) = %q, %v; want %s", GPTTinyZH, dir, err, shipped)
	}
	if dir, err := ModelDir(shipped); err != nil || dir != shipped {
		t.Errorf("ModelDir(dir) = %q, %v", dir, err)
	}

	// A Hugging Face id → its cached snapshot (the layout `divellm download` writes).
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	snap := filepath.Join(cache, "models--someone--tiny-gpt", "snapshots", commit)
	os.MkdirAll(snap, 0o755)
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(shipped, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(snap, f), data, 0o644)
	}
	os.MkdirAll(filepath.Join(cache, "models--someone--tiny-gpt", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--someone--tiny-gpt", "refs", "main"), []byte(commit), 0o644)
	if dir, err := ModelDir("someone/tiny-gpt"); err != nil || dir != snap {
		t.Errorf("ModelDir(id) = %q, %v; want %s", dir, err, snap)
	}
	if m, err := LoadModel("someone/tiny-gpt"); err != nil || m.Tokenizer == nil {
		t.Errorf("LoadModel(id): %v", err)
	}

	// The backup an interrupted save leaves is accepted (llm.Load restores it).
	tmp := t.TempDir()
	backup := filepath.Join(tmp, ".ckpt.old")
	os.MkdirAll(backup, 0o755)
	os.WriteFile(filepath.Join(backup, "config.json"), []byte("{}"), 0o644)
	if dir, err := ModelDir(filepath.Join(tmp, "ckpt")); err != nil || dir != filepath.Join(tmp, "ckpt") {
		t.Errorf("ModelDir(crashed save) = %q, %v", dir, err)
	}

	// Everything else: ErrNoModel, with what was tried.
	notCkpt := t.TempDir()
	file := filepath.Join(notCkpt, "notes.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	for name, want := range map[string]string{
		"":                 "empty",
		notCkpt:            "no config.json",
		file:               "is a file",
		"no-such-model":    "not a shipped model",
		"someone/missing":  "divellm download someone/missing",
		"/no/such/dir":     "no such directory",
		"../../etc/passwd": "no such directory",
	} {
		_, err := ModelDir(name)
		if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), want) {
			t.Errorf("ModelDir(%q) = %v; want ErrNoModel mentioning %q", name, err, want)
		}
	}
}
