// Package testgpu opens the GPU backend for tests outside package nn: with
// CATSYNTH_REQUIRE_GPU=1 (set by `make test`) a missing adapter fails the
// test; otherwise the GPU part is skipped.
package testgpu

import (
	"os"
	"testing"

	"catsynth/nn"
)

// Optional returns the GPU device, or nil (after logging why) when there is
// none and none is required.
func Optional(t testing.TB) *nn.Device {
	t.Helper()
	dev, err := nn.Open("gpu")
	if err != nil {
		if os.Getenv("CATSYNTH_REQUIRE_GPU") == "1" {
			t.Fatalf("CATSYNTH_REQUIRE_GPU=1 but no GPU: %v", err)
		}
		t.Logf("no GPU: %v", err)
		return nil
	}
	t.Logf("gpu: %s", dev.Name())
	return dev
}

// Device returns the GPU device, or skips the test when there is none and
// none is required.
func Device(t testing.TB) *nn.Device {
	t.Helper()
	dev := Optional(t)
	if dev == nil {
		t.Skip("no GPU")
	}
	return dev
}
