//go:build xla

package backend

// Built with -tags xla, the XLA backend is linked in too; it is used only when
// GOMLX_BACKEND asks for it ("xla:cpu" or "xla:cuda") and its PJRT plugin is installed.
import _ "github.com/gomlx/go-xla/compute/xla"
