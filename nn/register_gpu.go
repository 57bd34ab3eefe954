package nn

import (
	"catsynth/nn/backend"
	"catsynth/nn/gpu"
)

// The WebGPU backend is linked into every binary: "auto" prefers it and falls
// back to the CPU (with the reason) when no adapter opens.
func init() {
	RegisterBackend("gpu", func() (backend.Backend, error) {
		b, err := gpu.New()
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return b, nil
	})
}
