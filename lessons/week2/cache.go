package week2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/divellm/divellm/lessons/checkout"
)

// CacheDir is where the notebook's trainings are kept between cells and runs:
// .cache/week2 in the checkout, or $DIVELLM_CACHE/week2 (see [checkout.CacheDir]).
// GoNB runs every cell as a new program, so a model one cell trained is gone for the next
// one unless it is on disk; a later cell (or run) with the same parameters loads it.
func CacheDir() (string, error) { return checkout.CacheDir("week2") }

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
	return checkout.WriteFileAtomic(path, b)
}
