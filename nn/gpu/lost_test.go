package gpu

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"catsynth/nn/backend"
)

// TestLostDeviceStaysLost: once a download reports the device lost (as a
// map of the staging buffer does natively), every later Download and Flush
// fails at once with that error, naming the adapter, and Release still
// works. wgpu-native v0.23's wgpuDeviceDestroy does not make a device
// unusable (checked: work after it still runs), so the loss is reported
// here through the backend's own path.
func TestLostDeviceStaysLost(t *testing.T) {
	openGPU(t)
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	buf, err := b.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4)
	b.Upload(buf, []float32{1, 2, 3, 4})
	if err := b.Download(buf, out); err != nil || out[3] != 4 {
		t.Fatalf("before the loss: %v %v", err, out)
	}
	for _, c := range []struct {
		name string
		err  error
		lost bool
	}{
		{"other error", errors.New("gpu: validation"), false},
		{"nil", nil, false},
		{"device lost", fmt.Errorf("gpu: download: %w: map staging buffer", backend.ErrDeviceLost), true},
	} {
		got := b.noteLoss(c.err)
		if (b.lost != nil) != c.lost || !errors.Is(got, c.err) && c.err != nil {
			t.Fatalf("%s: noteLoss = %v, lost %v", c.name, got, b.lost)
		}
	}
	for name, f := range map[string]func() error{
		"Download": func() error { return b.Download(buf, out) },
		"Flush":    b.Flush,
	} {
		err := f()
		if !errors.Is(err, backend.ErrDeviceLost) || !strings.Contains(err.Error(), b.Name()) {
			t.Errorf("%s after the loss: %v, want ErrDeviceLost naming %q", name, err, b.Name())
		}
	}
}
