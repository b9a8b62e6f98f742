package week1

import (
	"os"
	"testing"
)

// TestMain keeps the tests' cached results (the trained BPE) out of the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "week1-test-cache-*")
	if err != nil {
		panic(err)
	}
	os.Setenv("DIVELLM_CACHE", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
