package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/divellm/divellm/llm/backend"
)

func init() {
	register("version", "print versions of Go and the compute backend", func(args []string, w io.Writer) error {
		fmt.Fprintf(w, "divellm (Go %s %s/%s), backend %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, backend.Name())
		return nil
	})
}
