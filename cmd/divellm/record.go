package main

import (
	"bytes"
	"path/filepath"

	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/llm/safetensors"
)

// writeRecord writes r as DIR/name, the record that travels with a checkpoint
// (models/*/train_result.json). *out, the absolute output path the command prints, is
// written relative to the directory of the checkout holding it ("models/gpt-tiny-zh"),
// or as the directory's base name outside a checkout, so the shipped records name no
// machine's paths; *out is restored afterwards.
func writeRecord(dir, name string, r any, out *string) error {
	abs := *out
	*out = portablePath(abs)
	defer func() { *out = abs }()
	var buf bytes.Buffer
	if err := writeJSON(&buf, r); err != nil {
		return err
	}
	return safetensors.WriteFileInDir(dir, name, buf.Bytes())
}

// portablePath is abs relative to the enclosing divellm checkout, or its base name.
func portablePath(abs string) string {
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if checkout.IsRoot(d) {
			if rel, err := filepath.Rel(d, abs); err == nil {
				return filepath.ToSlash(rel)
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return filepath.Base(abs)
}
