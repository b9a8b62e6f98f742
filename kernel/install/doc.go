// Package install sets up the Go kernel that runs divellm's notebooks: it builds the pinned
// GoNB kernel, goimports and gopls from the tools module in kernel/tools, and writes a
// Jupyter kernelspec ("Go (divellm)", directory gonb-divellm) that points at this checkout.
//
// How a notebook cell runs. Jupyter starts the kernel with the argv of kernel.json; GoNB
// then creates a scratch module in /tmp, runs `go work init` and `go work use ROOT` there
// (the --go_work flag), so a cell can import "github.com/divellm/divellm/llm" and every
// dependency version comes from the project's go.mod. For each cell GoNB merges the cell's
// declarations with earlier ones, runs goimports, `go build`s a program and runs it: each
// cell is a new process, so values do not survive between cells, only declarations do.
//
// Why a separate tools module. `go install github.com/janpfeifer/gonb@v0.11.4` fails on
// machines whose module proxy refuses gonb's version list, and GoNB's, gopls's and
// goimports's dependencies must not leak into the project's go.mod. kernel/tools/go.mod is
// its own module with a `tool` block; goimports is pinned at the golang.org/x/tools
// version that gopls v0.23.0 requires (later x/tools releases do not build with it).
// GoNB itself is built from third_party/gonb (a replace in that go.mod): v0.11.4 with the
// patches listed in third_party/gonb/PATCHES.md, so the stamp below hashes that tree too.
//
// Why the kernelspec is written here and not by `gonb --install`: GoNB writes an empty
// env, but a cell needs PATH (go, goimports, gopls), GOEXPERIMENT=simd (GoMLX's SIMD
// matmul kernels on amd64) and GOMLX_BACKEND (internal/backendenv.Default, the default
// llm/backend uses too; see llm/backend for why).
// It also sets GOFLAGS='-ldflags=-s -w' ([CellLDFlags]): every cell is linked into a new
// program, and skipping DWARF (which only a debugger reads) nearly halves the link, the
// bulk of a warm cell; -s drops the ELF symbol table too (panic traces keep their function
// names and lines, which come from the runtime's pclntab).
//
// Idempotence: [Install] skips the build when a stamp (a hash of the tools module's go.mod,
// go.sum and the Go version) matches and the binaries exist, and writes kernel.json only
// when its bytes differ, so a second run takes well under a second and changes nothing.
package install
