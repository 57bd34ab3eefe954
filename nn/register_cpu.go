package nn

import (
	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// The pure-Go CPU backend is always available as "cpu"; register_gpu.go
// registers the WebGPU backend as "gpu" beside it, so every binary links both.
func init() {
	RegisterBackend("cpu", func() (backend.Backend, error) { return cpu.New(), nil })
}
