package gpu

import (
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/backend/backendtest"
	"catsynth/nn/cpu"
)

// TestConformance runs the backend conformance suite (float64 references,
// finite differences, adjoint identities, buffer checks) on the GPU backend.
func TestConformance(t *testing.T) {
	b := openGPU(t)
	backendtest.RunAll(t, func(*testing.T) backend.Backend { return b })
}

// TestParity compares every primitive with the CPU reference backend on the
// same random inputs.
func TestParity(t *testing.T) {
	b := openGPU(t)
	backendtest.Parity(t, cpu.New(), b)
}
