package testlock

import (
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gofrs/flock"
)

// TestHoldExcludesOtherProcesses: while a test holds the lock, another process cannot
// take it; once the test ends, it can.
func TestHoldExcludesOtherProcesses(t *testing.T) {
	name := "selftest-" + strconv.Itoa(os.Getpid())
	defer os.Remove(Path(name))
	probe := func() bool { // a separate process, as another package's test binary would be
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTryLock$")
		cmd.Env = append(os.Environ(), "TESTLOCK_PROBE="+name)
		return cmd.Run() == nil
	}
	t.Run("held", func(t *testing.T) {
		Hold(t, name)
		if probe() {
			t.Fatal("another process took the lock while this test held it")
		}
	})
	if !probe() {
		t.Fatal("the lock was not released when the test ended")
	}
}

// TestHoldSerialisesParallelTests: parallel tests holding the same name never overlap.
func TestHoldSerialisesParallelTests(t *testing.T) {
	name := "selftest-par-" + strconv.Itoa(os.Getpid())
	defer os.Remove(Path(name))
	var inside, overlaps atomic.Int32
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				Hold(t, name)
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				for range 1000 {
					_ = os.Getpid() // give the others a chance to run
				}
				inside.Add(-1)
			})
		}
	})
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlaps between holders of one lock", overlaps.Load())
	}
}

// TestHelperTryLock is run as a child process by the tests above: it exits 0 if it can
// take the lock named by $TESTLOCK_PROBE at once.
func TestHelperTryLock(t *testing.T) {
	name := os.Getenv("TESTLOCK_PROBE")
	if name == "" {
		t.Skip("helper process only")
	}
	ok, err := flock.New(Path(name)).TryLock()
	if err != nil || !ok {
		os.Exit(1)
	}
	os.Exit(0)
}
