package checkout

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	want, ok := compiledRoot()
	if !ok {
		t.Skip("not compiled in a checkout")
	}
	t.Setenv("DIVELLM_ROOT", "")
	// From a subdirectory of the checkout: found upwards.
	t.Chdir(filepath.Join(want, "lessons", "checkout"))
	if r, err := Root(); err != nil || r != want {
		t.Fatalf("Root from lessons/checkout = %q, %v; want %s", r, err, want)
	}
	// From outside any checkout: the checkout the code was compiled from.
	t.Chdir(t.TempDir())
	if r, err := Root(); err != nil || r != want {
		t.Fatalf("Root from a temp dir = %q, %v; want %s", r, err, want)
	}
	// Another checkout above the working directory wins over the compiled one.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("// a copy\nmodule "+Module+"\n\ngo 1.26\n"), 0o644)
	os.MkdirAll(filepath.Join(other, "notebooks"), 0o755)
	t.Chdir(filepath.Join(other, "notebooks"))
	if r, err := Root(); err != nil || r != other {
		t.Fatalf("Root inside another checkout = %q, %v; want %s", r, err, other)
	}
	// $DIVELLM_ROOT must be a checkout.
	t.Setenv("DIVELLM_ROOT", t.TempDir())
	if _, err := Root(); err == nil {
		t.Fatal("DIVELLM_ROOT without go.mod accepted")
	}
	t.Setenv("DIVELLM_ROOT", other)
	if r, err := Root(); err != nil || r != other {
		t.Fatalf("Root with DIVELLM_ROOT = %q, %v", r, err)
	}
}

func TestIsRoot(t *testing.T) {
	d := t.TempDir()
	if IsRoot(d) {
		t.Fatal("empty dir is a root")
	}
	os.WriteFile(filepath.Join(d, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if IsRoot(d) {
		t.Fatal("another module is a root")
	}
	os.WriteFile(filepath.Join(d, "go.mod"), []byte("module  "+Module+" \n"), 0o644)
	if !IsRoot(d) {
		t.Fatal("divellm go.mod not recognised")
	}
}

func TestFileHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w")
	os.WriteFile(p, []byte("abc"), 0o644)
	// sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	if h, err := FileHash(p); err != nil || h != "ba7816bf8f01cfea" {
		t.Fatalf("FileHash = %q, %v", h, err)
	}
	if _, err := FileHash(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file hashed")
	}
}

func TestCacheDirAndAtomicWrite(t *testing.T) {
	env := t.TempDir()
	t.Setenv("DIVELLM_CACHE", env)
	d, err := CacheDir("week9", "x")
	if err != nil || d != filepath.Join(env, "week9", "x") {
		t.Fatalf("CacheDir with DIVELLM_CACHE = %q, %v", d, err)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Fatalf("CacheDir did not create %s: %v", d, err)
	}
	t.Setenv("DIVELLM_CACHE", "")
	if root, err := Root(); err == nil {
		if d, err := CacheDir(); err != nil || d != filepath.Join(root, ".cache") {
			t.Errorf("CacheDir in the checkout = %q, %v; want %s/.cache", d, err, root)
		}
	}

	p := filepath.Join(env, "a", "b.json")
	for _, want := range []string{"first", "second"} {
		if err := WriteFileAtomic(p, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Fatalf("read back %q, %v; want %q", b, err, want)
		}
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(p, "under-a-file"), nil); err == nil {
		t.Error("writing under a regular file succeeded")
	}
}
