// Package checkout finds the divellm checkout a program or notebook cell runs from. It
// imports only the standard library, so the light lesson packages (lessons/week1,
// lessons/week4, …) can use it without linking the model code: GoNB compiles every cell as
// a new program, and a cell that links GoMLX compiles seconds slower.
package checkout

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Module is the Go module path of the project, used to recognise the checkout.
const Module = "github.com/divellm/divellm"

// Root returns the checkout's root directory, the first of:
//
//  1. $DIVELLM_ROOT (an error if it is not a checkout);
//  2. the first directory upwards from the working directory whose go.mod declares
//     [Module] (a notebook's cells run in the notebook's directory);
//  3. the checkout this package was compiled from (notebook cells are compiled from it,
//     through GoNB's go.work).
func Root() (string, error) {
	if r := os.Getenv("DIVELLM_ROOT"); r != "" {
		if IsRoot(r) {
			return r, nil
		}
		return "", fmt.Errorf("DIVELLM_ROOT=%s is not a divellm checkout (no go.mod for %s)", r, Module)
	}
	wd, err := os.Getwd()
	if err == nil {
		if r, ok := above(wd); ok {
			return r, nil
		}
	}
	if r, ok := compiledRoot(); ok {
		return r, nil
	}
	return "", fmt.Errorf("cannot find the divellm checkout above %s: set DIVELLM_ROOT to it", wd)
}

// Roots lists the checkouts to look for shipped files in: [Root], then the checkout the
// running executable sits in (bin/divellm is ROOT/bin/divellm), without repeats.
func Roots() []string {
	var out []string
	if r, err := Root(); err == nil {
		out = append(out, r)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			if d, ok := above(filepath.Dir(exe)); ok && (len(out) == 0 || out[0] != d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// IsRoot reports whether dir holds the go.mod of [Module].
func IsRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			return strings.TrimSpace(rest) == Module
		}
	}
	return false
}

// above returns the first checkout at or above dir.
func above(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		if IsRoot(d) {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// compiledRoot is the checkout this file was compiled in (two levels up), if it is still
// there.
func compiledRoot() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false
	}
	r := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return r, IsRoot(r)
}

// FileHash returns the first 16 hex digits of the SHA-256 of a file: enough to tell two
// model weight files apart in a cache key.
func FileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// CacheDir returns the directory of a lesson cache, $DIVELLM_CACHE/elem... when
// DIVELLM_CACHE is set, else ROOT/.cache/elem... in the checkout (e.g. CacheDir("week2")),
// creating it. Every week keeps its results there, so a second clone or worktree never
// reads results another checkout's code computed.
func CacheDir(elem ...string) (string, error) {
	base := os.Getenv("DIVELLM_CACHE")
	if base == "" {
		root, err := Root()
		if err != nil {
			return "", err
		}
		base = filepath.Join(root, ".cache")
	}
	dir := filepath.Join(append([]string{base}, elem...)...)
	return dir, os.MkdirAll(dir, 0o755)
}

// WriteFileAtomic writes data to path through a temporary file in the same directory and
// a rename, creating the directory if needed: a notebook cell reading the file at the
// same time sees the old file or the new one, never half of one.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // as os.WriteFile would leave it; CreateTemp makes it 0600
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
