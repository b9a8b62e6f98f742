package llm

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/safetensors"
)

func TestLoadNamesNonFiniteTensor(t *testing.T) {
	m := smallGPT(t)
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	// Rewrite the file with 3 NaNs in wte, as a corrupted or diverged checkpoint would hold.
	all, meta, err := safetensors.ReadAll(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for name, tt := range all {
		if name == "transformer.wte.weight" {
			f, _ := tt.Float32s()
			f[0], f[5], f[9] = float32(math.NaN()), float32(math.NaN()), float32(math.NaN())
			*tt = safetensors.FromFloat32(name, tt.Shape, f)
		}
		ts = append(ts, *tt)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, meta); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "transformer.wte.weight has 3 NaN values") {
		t.Fatalf("Load: %v, want the tensor named with its NaN count", err)
	}
}

func TestHostileConfigsFailBeforeAllocating(t *testing.T) {
	m := smallGPT(t)
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var base map[string]any
	json.Unmarshal(raw, &base)
	for key, v := range map[string]any{
		"n_layer": 1e9, "n_embd": 1e6, "n_head": 0, "vocab_size": 1e12, "n_positions": -3, "n_inner": 2.5,
		"n_ctx": "many", "layer_norm_epsilon": -1, "resid_pdrop": 1.5, "pad_token_id": 1e30, "activation_function": 3,
	} {
		cfg := map[string]any{}
		for k, x := range base {
			cfg[k] = x
		}
		cfg[key] = v
		if key == "n_ctx" {
			delete(cfg, "n_positions")
		}
		b, _ := json.Marshal(cfg)
		os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		_, err := Load(dir)
		if err == nil {
			t.Errorf("%s = %v: loaded", key, v)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", key, err)
		}
	}
	// A config whose sizes are in range but do not match the file fails on the header
	// check, naming the tensor.
	cfg := map[string]any{}
	for k, x := range base {
		cfg[k] = x
	}
	cfg["n_layer"] = 100
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "missing tensor") {
		t.Fatalf("n_layer 100 on a 2-layer file: %v", err)
	}
}

func TestLoadRecoversInterruptedSave(t *testing.T) {
	m := smallGPT(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "ckpt")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	// A crash between WriteDirAtomic's two renames leaves only the backup.
	if err := os.Rename(dir, filepath.Join(parent, ".ckpt.old")); err != nil {
		t.Fatal(err)
	}
	var warned string
	saved := Warn
	Warn = func(s string) { warned = s }
	defer func() { Warn = saved }()
	m2, err := Load(dir)
	if err != nil {
		t.Fatalf("Load after an interrupted save: %v", err)
	}
	if !strings.Contains(warned, "restored") || m2.Weights.Len() != m.Weights.Len() {
		t.Fatalf("recovery not reported (%q) or incomplete", warned)
	}
}

func TestSaveNeverDeletesForeignFiles(t *testing.T) {
	m := smallGPT(t)
	parent := t.TempDir()
	// A directory with a user's file is refused and left as it was.
	dir := filepath.Join(parent, "notes")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep"), 0o644)
	if err := m.Save(dir); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("Save over a foreign directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "keep" {
		t.Fatal("notes.txt was touched")
	}
	// A checkpoint we wrote is replaced; after a file is added to it, it is not.
	ck := filepath.Join(parent, "ck")
	if err := m.Save(ck); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(ck); err != nil {
		t.Fatalf("replacing our own checkpoint: %v", err)
	}
	os.WriteFile(filepath.Join(ck, "README.md"), []byte("mine"), 0o644)
	if err := m.Save(ck); err == nil {
		t.Fatal("a checkpoint holding a user's file was replaced")
	}
	// The working directory and its parents are refused.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	inner := filepath.Join(parent, "ck2", "sub")
	os.MkdirAll(inner, 0o755)
	os.Chdir(inner)
	if err := m.Save(".."); err == nil {
		t.Fatal("saved over the parent of the working directory")
	}
}
