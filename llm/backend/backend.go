// Package backend chooses and shares the GoMLX compute backend used by every divellm
// program: the CLI, the tests and the notebook kernel all call [Get].
//
// The default is GoMLX's pure-Go backend with an unlimited worker pool
// ("go:parallelism=-1").
//
// Why not the Go backend's own default: its scheduler runs each ready graph node on a
// worker slot from a pool of 2×GOMAXPROCS, and matmul, Erf and fused GELU then ask the
// same pool for more slots (workerspool.Saturate) while holding theirs. When every slot is
// held by a node waiting for another slot, a training step hangs (reported with compute
// v0.1.2 and v0.1.5 on a 2-core machine). With parallelism=-1 the pool has no slot
// accounting at all: WaitToStart starts a goroutine at once and Saturate starts up to
// GOMAXPROCS workers of its own without waiting for anybody else's, so no node can wait
// for a slot and that deadlock cannot happen. Independent graph nodes still run
// concurrently, which makes a tiny-GPT training step about 1.6× faster than
// "go:ops_sequential" (the other safe choice) on 2 cores: 3.3k vs 2.1k tokens/s.
//
// Set GOMLX_BACKEND to override, e.g. "go:ops_sequential" or, where the XLA plugin is
// installed and the binary is built with -tags xla, "xla:cpu" / "xla:cuda".
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/divellm/divellm/internal/backendenv"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, always available.
)

// DefaultConfig is the backend configuration used when GOMLX_BACKEND is unset. It lives
// in internal/backendenv, which the kernel installer shares without importing GoMLX.
const DefaultConfig = backendenv.Default

// EnvVar is the environment variable GoMLX reads for the backend configuration
// (compute.ConfigEnvVar; the tests check they agree).
const EnvVar = backendenv.Var

func init() {
	// Never let GoMLX fall back to "xla" (its DefaultConfig): offline, XLA tries to download
	// its PJRT plugin and panics.
	compute.DefaultConfig = DefaultConfig
}

var (
	once    sync.Once
	shared  compute.Backend
	initErr error
)

// newQuietly creates the backend with os.Stdout pointed at /dev/null: the Go backend
// prints "Go backend: parallelism set to N" on stdout when configured, which would corrupt
// the JSON that `divellm … --json` and notebook cells print.
func newQuietly(cfg string) (compute.Backend, error) {
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		saved := os.Stdout
		os.Stdout = devnull
		defer func() {
			os.Stdout = saved
			devnull.Close()
		}()
	}
	return compute.NewWithConfig(cfg)
}

// Config returns the configuration string that [Get] uses.
func Config() string {
	if c, ok := os.LookupEnv(EnvVar); ok && strings.TrimSpace(c) != "" {
		return c
	}
	return DefaultConfig
}

// Get returns the process-wide backend, creating it on first use.
func Get() (compute.Backend, error) {
	once.Do(func() {
		cfg := Config()
		func() {
			defer func() {
				if r := recover(); r != nil {
					initErr = fmt.Errorf("backend %q: %v", cfg, r)
				}
			}()
			shared, initErr = newQuietly(cfg)
		}()
		if initErr != nil {
			initErr = fmt.Errorf("create GoMLX backend %q (set %s=%s for the pure-Go backend): %w",
				cfg, EnvVar, DefaultConfig, initErr)
		}
	})
	return shared, initErr
}

// MustGet is [Get] for tests and examples: it panics on error.
func MustGet() compute.Backend {
	b, err := Get()
	if err != nil {
		panic(err)
	}
	return b
}

// Name describes the backend in use, e.g. "Go Backend [go:parallelism=-1]".
func Name() string {
	b, err := Get()
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return fmt.Sprintf("%s [%s]", b.Name(), Config())
}

// Catch runs fn and turns a panic raised inside it (GoMLX graph-building code panics on
// shape errors) into a returned error, so no panic crosses a package edge.
func Catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	return fn()
}
