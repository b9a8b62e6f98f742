package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/divellm/divellm/llm/backend"
)

func init() {
	define(&command{name: "version", summary: "print versions of Go and the compute backend", run: versionCmd})
}

// versionJSON is the result of `divellm version`.
type versionJSON struct {
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Backend string `json:"backend"`
}

func (v versionJSON) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "divellm (Go %s %s/%s), backend %s\n", v.Go, v.OS, v.Arch, v.Backend)
	return err
}

func versionCmd(c *cmdCtx) (any, error) {
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("version takes no arguments, got %q", rest[0])
	}
	return versionJSON{Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Backend: backend.Name()}, nil
}
