package lessons

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootAndModels(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if !isRoot(root) || filepath.Base(filepath.Join(root, "lessons")) != "lessons" {
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
