package backend

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/compute"
)

// TestMain creates the backend first, with stdout captured: creating it must print
// nothing there (CLI commands print JSON on stdout).
func TestMain(m *testing.M) {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	saved := os.Stdout
	os.Stdout = w
	_, getErr := Get()
	os.Stdout = saved
	w.Close()
	out, _ := io.ReadAll(r)
	if getErr != nil {
		fmt.Fprintln(os.Stderr, "backend:", getErr)
		os.Exit(1)
	}
	if len(out) > 0 {
		fmt.Fprintf(os.Stderr, "creating the backend printed %q on stdout\n", out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestDefaultIsUnlimitedGoBackend(t *testing.T) {
	if v, ok := os.LookupEnv(EnvVar); ok && v != "" {
		t.Skipf("%s=%s is set; the default is not in use", EnvVar, v)
	}
	// Only these two configurations can never wait for a worker slot (see the package doc).
	if Config() != DefaultConfig || (DefaultConfig != "go:parallelism=-1" && DefaultConfig != "go:ops_sequential") {
		t.Fatalf("default backend config %q, want a Go backend that cannot deadlock", Config())
	}
	b, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(b.Name()), "go") {
		t.Fatalf("backend %q is not the Go backend", b.Name())
	}
}

func TestCatchTurnsPanicIntoError(t *testing.T) {
	err := Catch(func() error { panic("shape mismatch") })
	if err == nil || !strings.Contains(err.Error(), "shape mismatch") {
		t.Fatalf("Catch returned %v", err)
	}
	if err := Catch(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestEnvVarIsGoMLXs: the name shared with the kernel installer through
// internal/backendenv is the variable GoMLX actually reads.
func TestEnvVarIsGoMLXs(t *testing.T) {
	if EnvVar != compute.ConfigEnvVar {
		t.Fatalf("EnvVar %q, GoMLX reads %q", EnvVar, compute.ConfigEnvVar)
	}
}
