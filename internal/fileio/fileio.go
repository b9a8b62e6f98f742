package fileio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular file (a
// directory, a device such as /dev/zero, a FIFO, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file larger than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// Limits for the common kinds of files, in bytes.
const (
	// MaxJSON bounds configuration files: config.json, tokenizer_config.json,
	// trainer_state.json, kernel.json (real ones are a few kB; 64 MiB leaves room for a
	// tokenizer.json with a 250k-token vocabulary and its merges).
	MaxJSON = 64 << 20
	// MaxText bounds text files read whole: vocabularies, merges, corpora, notebooks.
	MaxText = 1 << 30
)

// Open opens path for reading if it names a regular file (symbolic links are followed)
// of at most maxBytes bytes (maxBytes ≤ 0: no limit), and returns the file and its size.
// Anything else is refused with a one-line error wrapping [ErrNotRegular] or
// [ErrTooLarge], without blocking on a FIFO: the file is opened non-blocking and its type
// checked on the open descriptor. The caller closes the file.
func Open(path string, maxBytes int64) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s): give the path of a file", ErrNotRegular, Kind(st.Mode()))}
	}
	if maxBytes > 0 && st.Size() > maxBytes {
		f.Close()
		return nil, 0, tooLarge(path, st.Size(), maxBytes)
	}
	return f, st.Size(), nil
}

// ReadFile reads the regular file at path, like os.ReadFile, refusing anything that is
// not a regular file ([ErrNotRegular]) and any file larger than maxBytes ([ErrTooLarge];
// maxBytes ≤ 0: no limit but the file's own size). No buffer larger than the limit
// (+1 byte, to see a file that grows while it is read) is allocated.
func ReadFile(path string, maxBytes int64) ([]byte, error) {
	f, size, err := Open(path, maxBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, 0, size+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if maxBytes > 0 && int64(len(data)) > maxBytes {
			return nil, tooLarge(path, int64(len(data)), maxBytes)
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // grow: the file is longer than Stat said
		}
	}
}

func tooLarge(path string, size, limit int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %s, more than the %s allowed for this kind of file", ErrTooLarge, Size(size), Size(limit))}
}

// Kind names a file type for error messages: "a directory", "a character device", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a file: " + m.Type().String()
}

// Size formats a byte count for messages: "9999 B", "12.3 kB", "64.0 MB", "1.2 GB".
func Size(n int64) string {
	switch {
	case n < 10000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
