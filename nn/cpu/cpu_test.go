package cpu_test

import (
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/backend/backendtest"
	"catsynth/nn/cpu"
)

func TestConformance(t *testing.T) {
	backendtest.RunAll(t, func(t *testing.T) backend.Backend { return cpu.New() })
}

// TestParitySelf runs the parity harness CPU against CPU: it must pass
// exactly as the GPU backend's parity test runs it.
func TestParitySelf(t *testing.T) {
	backendtest.Parity(t, cpu.New(), cpu.New())
}
