package week3

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/divellm/divellm/lessons/checkout"
)

// cacheDir returns .cache/week3 in the checkout (see [checkout.CacheDir]), created if needed.
func cacheDir() (string, error) { return checkout.CacheDir("week3") }

// fileHash returns the first 16 hex digits of the SHA-256 of a file.
func fileHash(path string) (string, error) { return checkout.FileHash(path) }

// modelKey identifies a model directory's weights.
func modelKey(dir string) (string, error) {
	return fileHash(filepath.Join(dir, "model.safetensors"))
}

// key hashes the parts of a cache key into a short file name stem.
func key(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(h[:])[:16]
}

// cached returns the value stored under name-key in .cache/week3, or computes it with fn
// and stores it (atomically). A cache file that does not decode is recomputed.
func cached[T any](name, k string, fn func() (T, error)) (T, error) {
	var v T
	dir, err := cacheDir()
	if err != nil {
		return v, err
	}
	path := filepath.Join(dir, name+"-"+k+".json")
	if b, err := os.ReadFile(path); err == nil {
		if json.Unmarshal(b, &v) == nil {
			return v, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return v, err
	}
	if v, err = fn(); err != nil {
		return v, err
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return v, err
	}
	return v, checkout.WriteFileAtomic(path, b)
}
