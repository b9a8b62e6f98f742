package fileio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFileRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	want := bytes.Repeat([]byte("你好\n"), 1000)
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p, int64(len(want)))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile at the exact limit: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	// Through a symbolic link (the Hugging Face cache links snapshots to blobs).
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFile(link, 1<<20); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile through a symlink: %d bytes, %v", len(got), err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if got, err := ReadFile(empty, 1); err != nil || len(got) != 0 {
		t.Fatalf("empty file: %q, %v", got, err)
	}
	// /proc files report size 0 but have content: read to EOF all the same.
	if got, err := ReadFile("/proc/self/status", 1<<20); err == nil && !bytes.Contains(got, []byte("Name:")) {
		t.Errorf("/proc/self/status read as %q", got)
	}
}

func TestReadFileTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	os.WriteFile(p, make([]byte, 1001), 0o644)
	_, err := ReadFile(p, 1000)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1001 bytes with a 1000-byte limit: %v, want ErrTooLarge", err)
	}
	for _, want := range []string{p, "1001 B", "1000 B"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if b, err := ReadFile(p, 0); err != nil || len(b) != 1001 {
		t.Errorf("no limit (0): %d bytes, %v", len(b), err)
	}
}

// TestRefusesSpecialFiles: devices, FIFOs and directories fail at once with one line,
// without reading (a read of /dev/zero never ends) or blocking (opening a FIFO with no
// writer blocks forever).
func TestRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"/dev/zero":    "character device",
		"/dev/urandom": "character device",
		fifo:           "named pipe",
		dir:            "directory",
	}
	for path, kind := range cases {
		for name, read := range map[string]func(string) error{
			"ReadFile": func(p string) error { _, err := ReadFile(p, 1<<40); return err },
			"Open": func(p string) error {
				f, _, err := Open(p, 0)
				if err == nil {
					f.Close()
				}
				return err
			},
		} {
			err := read(path)
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s(%s) = %v, want ErrNotRegular", name, path, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, kind) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("%s(%s): message %q should name the path and %q on one line", name, path, msg, kind)
			}
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestOpenRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("abc"), 0o644)
	f, size, err := Open(p, 3)
	if err != nil || size != 3 {
		t.Fatalf("Open = %d bytes, %v", size, err)
	}
	defer f.Close()
	if _, _, err := Open(p, 2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("3 bytes with a limit of 2: %v", err)
	}
	b := make([]byte, 8)
	n, _ := f.Read(b)
	if string(b[:n]) != "abc" {
		t.Errorf("read %q", b[:n])
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 9999: "9999 B", 12345: "12.3 kB", 64 << 20: "67.1 MB", 3e9: "3.0 GB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReadFileRefusesSpecialAndLargeFiles(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "a.txt")
	os.WriteFile(ok, []byte("hello"), 0o644)
	if b, err := ReadFile(ok, 10); err != nil || string(b) != "hello" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(ok, 4); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("5-byte file under a 4-byte limit: %v", err)
	}
	for _, p := range []string{"/dev/zero", "/dev/urandom", dir} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if _, err := ReadFile(p, 1<<20); err == nil {
			t.Fatalf("ReadFile(%s) succeeded", p)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/dev/zero", link); err == nil {
		if _, err := ReadFile(link, 0); err == nil {
			t.Fatal("a symlink to /dev/zero was read")
		}
	}
}
