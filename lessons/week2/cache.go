package week2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/divellm/divellm/lessons"
)

// CacheDir is where the notebook's trainings are kept between cells and runs:
// $DIVELLM_CACHE/week2 when DIVELLM_CACHE is set, else .cache/week2 in the checkout.
// GoNB runs every cell as a new program, so a model one cell trained is gone for the next
// one unless it is on disk; a later cell (or run) with the same parameters loads it.
func CacheDir() (string, error) {
	if d := os.Getenv("DIVELLM_CACHE"); d != "" {
		return filepath.Join(d, "week2"), nil
	}
	root, err := lessons.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "week2"), nil
}

// cacheKey hashes everything a cached result depends on into a file-name-safe key; each
// part is length-prefixed, so ("ab","c") and ("a","bc") differ.
func cacheKey(kind string, parts ...[]byte) string {
	h := sha256.New()
	for _, p := range append([][]byte{[]byte(kind)}, parts...) {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// fileHash is the SHA-256 of a file (a base model's weights, part of a cache key).
func fileHash(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := sha256.Sum256(b)
	return s[:], nil
}

// readJSON reads a JSON file written by writeJSONAtomic.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSONAtomic writes v as JSON through a temporary file and a rename, so a cell that
// reads the cache never sees half a file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.json")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
