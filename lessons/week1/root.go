package week1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/divellm/divellm/lessons/checkout"
)

// Root returns the checkout's root directory (see [checkout.Root]; that package is as light
// as this one, see doc.go).
func Root() (string, error) { return checkout.Root() }

// CacheDir is where expensive lesson results are kept between cells and runs:
// .cache/week1 in the checkout, or $DIVELLM_CACHE/week1 (see [checkout.CacheDir]). GoNB runs
// every cell as a new program, so a result one cell computed is gone for the next one
// unless it is on disk.
func CacheDir() (string, error) { return checkout.CacheDir("week1") }

// cacheKey hashes everything a cached result depends on into a file-name-safe key. parts
// are written in order, each length-prefixed, so ("ab","c") and ("a","bc") differ.
func cacheKey(kind string, parts ...[]byte) string {
	h := sha256.New()
	for _, p := range append([][]byte{[]byte(kind)}, parts...) {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// cachedJSON returns the value stored under key, or computes it, stores it as JSON (written
// atomically, so concurrent cells never read half a file) and returns it. A cache that
// cannot be read or written is not an error: the value is computed.
func cachedJSON[T any](key string, compute func() (T, error)) (T, error) {
	dir, err := CacheDir()
	if err == nil {
		if data, err := os.ReadFile(filepath.Join(dir, key+".json")); err == nil {
			var v T
			if json.Unmarshal(data, &v) == nil {
				return v, nil
			}
		}
	}
	v, err := compute()
	if err != nil || dir == "" {
		return v, err
	}
	if data, err := json.Marshal(v); err == nil {
		_ = writeAtomic(filepath.Join(dir, key+".json"), data)
	}
	return v, nil
}

// writeAtomic writes data to path so that a concurrent reader never sees half a file.
func writeAtomic(path string, data []byte) error { return checkout.WriteFileAtomic(path, data) }
