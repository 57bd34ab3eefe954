package nn

import (
	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// The pure-Go CPU backend is always available; register_gpu.go links the
// WebGPU backend the same way, so every binary that imports nn has both.
func init() {
	RegisterBackend("cpu", func() (backend.Backend, error) { return cpu.New(), nil })
}
