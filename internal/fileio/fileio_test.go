package fileio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
