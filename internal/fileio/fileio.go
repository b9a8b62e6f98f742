// Package fileio reads files whose paths come from users (flags, config files, checkpoint
// directories) without trusting them: only regular files are read, and only up to a size
// limit, so /dev/zero, /dev/urandom, a FIFO or a directory gives a one-line error instead
// of a hang or an out-of-memory crash.
package fileio

import (
	"fmt"
	"io"
	"os"
)

// Open opens path for reading if it is a regular file (symlinks are followed) of at most
// maxBytes bytes (maxBytes ≤ 0: no limit). It returns the file and its size.
func Open(path string, maxBytes int64) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		what := "not a regular file"
		if st.IsDir() {
			what = "a directory"
		}
		return nil, 0, fmt.Errorf("%s is %s", path, what)
	}
	if maxBytes > 0 && st.Size() > maxBytes {
		return nil, 0, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, st.Size(), maxBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	// Re-check the opened file: the path may have been swapped between Stat and Open.
	if st2, err := f.Stat(); err != nil || !st2.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	return f, st.Size(), nil
}

// ReadFile reads a regular file of at most maxBytes bytes (maxBytes ≤ 0: no limit).
func ReadFile(path string, maxBytes int64) ([]byte, error) {
	f, size, err := Open(path, maxBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limit := size + 1
	if maxBytes > 0 {
		limit = maxBytes + 1
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, err
	}
	if maxBytes > 0 && int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%s grew beyond the %d bytes allowed while being read", path, maxBytes)
	}
	return data, nil
}
