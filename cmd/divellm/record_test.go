package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/llm/safetensors"
)

// The record shipped with a checkpoint names its directory relative to the checkout
// (or by base name outside one), never by a machine's absolute path, and the caller's
// absolute path is left as it was for stdout.
func TestWriteRecordPortableOut(t *testing.T) {
	root, err := checkout.Root()
	if err != nil {
		t.Skip("not in a checkout:", err)
	}
	if got, want := portablePath(filepath.Join(root, "models", "gpt-tiny-zh")), "models/gpt-tiny-zh"; got != want {
		t.Errorf("portablePath inside the checkout = %q, want %q", got, want)
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := safetensors.WriteDirAtomic(dir, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r := struct {
		Out  string `json:"out"`
		Loss int    `json:"loss"`
	}{Out: dir, Loss: 3}
	if err := writeRecord(dir, "train_result.json", &r, &r.Out); err != nil {
		t.Fatal(err)
	}
	if r.Out != dir {
		t.Errorf("caller's out changed to %q", r.Out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "train_result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["out"] != "ckpt" || back["loss"] != 3.0 {
		t.Errorf("record = %s, want out \"ckpt\" and loss 3", b)
	}
}
