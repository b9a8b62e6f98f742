package safetensors

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDirAtomicPolicy(t *testing.T) {
	parent := t.TempDir()
	fill := func(content string) func(string) error {
		return func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "config.json"), []byte(content), 0o644) }
	}
	// New and empty directories are fine.
	dir := filepath.Join(parent, "a")
	if err := WriteDirAtomic(dir, fill("1")); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if err := WriteDirAtomic(empty, fill("1")); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	// Our own directory is replaced, and a file added with WriteFileInDir keeps it ours.
	if err := WriteFileInDir(dir, "train_result.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := WriteDirAtomic(dir, fill("2")); err != nil {
		t.Fatalf("replacing our own directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(b) != "2" {
		t.Fatalf("config.json = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "train_result.json")); !os.IsNotExist(err) {
		t.Fatal("the replaced directory kept an old file")
	}
	// Foreign content is refused and untouched: a stray file, a subdirectory, no marker,
	// a file path, and a marker written by someone else.
	cases := map[string]func(d string){
		"stray file": func(d string) {
			WriteDirAtomic(d, fill("x"))
			os.WriteFile(filepath.Join(d, "notes.txt"), []byte("keep"), 0o644)
		},
		"subdirectory": func(d string) {
			WriteDirAtomic(d, fill("x"))
			os.Mkdir(filepath.Join(d, "sub"), 0o755)
		},
		"no marker": func(d string) {
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, "config.json"), []byte("keep"), 0o644)
		},
		"foreign marker": func(d string) {
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, MarkerFile), []byte(`{"writer":"other","files":["config.json"]}`), 0o644)
			os.WriteFile(filepath.Join(d, "config.json"), []byte("keep"), 0o644)
		},
	}
	for name, setup := range cases {
		d := filepath.Join(parent, name)
		setup(d)
		before, _ := os.ReadDir(d)
		err := WriteDirAtomic(d, fill("new"))
		if !errors.Is(err, ErrNotReplaceable) {
			t.Errorf("%s: %v, want ErrNotReplaceable", name, err)
		}
		after, _ := os.ReadDir(d)
		if len(after) != len(before) {
			t.Errorf("%s: directory changed from %d to %d entries", name, len(before), len(after))
		}
	}
	file := filepath.Join(parent, "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	if err := WriteDirAtomic(file, fill("x")); err == nil {
		t.Fatal("a regular file was replaced by a directory")
	}
	if err := WriteFileInDir(filepath.Join(parent, "no marker"), "x.json", nil); err == nil {
		t.Fatal("WriteFileInDir wrote into a directory divellm did not make")
	}
	if err := WriteFileInDir(dir, "../escape", nil); err == nil {
		t.Fatal("WriteFileInDir accepted a path")
	}
}
