package nn

import (
	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// The pure-Go CPU backend is always available; the GPU backend registers
// itself as "gpu" from its own package (a blank import in binaries).
func init() {
	RegisterBackend("cpu", func() (backend.Backend, error) { return cpu.New(), nil })
}
