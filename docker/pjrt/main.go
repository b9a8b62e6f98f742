// Command pjrt installs GoMLX's XLA PJRT plugin into /usr/local/lib/go-xla, where the XLA
// backend looks for it. The Docker image runs it when built with --build-arg XLA=cpu or
// XLA=cuda; versions come from the project's go.mod (github.com/gomlx/go-xla).
//
// Usage: go run ./docker/pjrt cpu|cuda
package main

import (
	"log"
	"os"

	"github.com/gomlx/go-xla/installer"
)

func main() {
	dir := "/usr/local/lib/go-xla"
	if len(os.Args) != 2 {
		log.Fatal("usage: pjrt cpu|cuda")
	}
	var err error
	switch os.Args[1] {
	case "cpu":
		err = installer.CPUAutoInstall(dir, false, installer.Normal)
	case "cuda":
		if err = installer.CPUAutoInstall(dir, false, installer.Normal); err == nil {
			err = installer.CudaInstall("cuda13", "latest", dir, false, installer.Normal)
		}
	default:
		log.Fatalf("XLA=%q: want cpu or cuda (or none, which skips this program)", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}
