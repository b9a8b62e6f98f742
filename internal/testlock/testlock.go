// Package testlock serialises tests that each want most of the machine (a headless
// browser rendering pages, for instance) across the packages of one `go test ./...` and
// across checkouts on the same machine: go test runs packages in parallel processes,
// so a mutex cannot do it; a file lock (flock) in the system's temporary directory can.
//
// A test calls [Hold] with the name of the resource; it blocks until no other process
// (or test) holds that name and keeps the lock until the test ends. Waiting is waiting
// for an event, not a time budget: the whole test binary's -timeout still applies.
package testlock

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// Path returns the lock file used for name.
func Path(name string) string {
	return filepath.Join(os.TempDir(), "divellm-test-"+name+".lock")
}

// Hold takes the machine-wide lock called name for the rest of t, waiting as long as
// another holder keeps it, and says in the test log how long it waited.
func Hold(t testing.TB, name string) {
	t.Helper()
	l := flock.New(Path(name))
	start := time.Now()
	if err := l.Lock(); err != nil {
		t.Fatalf("testlock: lock %s: %v", l.Path(), err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Logf("testlock: waited %s for %s (another test was using it)", waited.Round(time.Second), name)
	}
	t.Cleanup(func() { _ = l.Unlock() })
}
