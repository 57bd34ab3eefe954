package cpu

import (
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/backend/backendtest"
)

// TestConformancePerKernel runs the conformance suite with each GEMM
// micro-kernel in turn, so the portable path (used under GOOS=js) is checked
// on every primitive built on the matrix product, not just the default one.
func TestConformancePerKernel(t *testing.T) {
	saved := kernel
	defer func() { kernel = saved }()
	for _, k := range kernels() {
		t.Run(k.name, func(t *testing.T) {
			kernel = k
			backendtest.RunAll(t, func(t *testing.T) backend.Backend { return New() })
		})
	}
}

// TestConformanceSmallChunks runs the suite with a column buffer so small
// that convolutions split their output pixels into chunks of 16, which start
// and end in the middle of output rows.
func TestConformanceSmallChunks(t *testing.T) {
	saved := colBudget
	defer func() { colBudget = saved }()
	colBudget = 1
	backendtest.RunAll(t, func(t *testing.T) backend.Backend { return New() })
}
