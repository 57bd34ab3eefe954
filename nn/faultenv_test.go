package nn

import (
	"errors"
	"strings"
	"testing"

	"catsynth/nn/backend"
)

// TestOpenLoseDeviceAfter: $CATSYNTH_FAULT_DEVICE_LOST_AFTER wraps the
// opened device (its second download fails as a lost device's does), and a
// value that is not a count is refused, naming the variable.
func TestOpenLoseDeviceAfter(t *testing.T) {
	t.Setenv(EnvLoseDeviceAfter, "1")
	d, err := Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x := d.FromData([]float32{1, 2}, 2)
	if v, err := x.Data(); err != nil || v[1] != 2 {
		t.Fatalf("first download: %v %v", v, err)
	}
	if _, err := x.Data(); !errors.Is(err, backend.ErrDeviceLost) {
		t.Fatalf("second download: %v, want ErrDeviceLost", err)
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		t.Setenv(EnvLoseDeviceAfter, bad)
		if _, err := Open("cpu"); err == nil || !strings.Contains(err.Error(), EnvLoseDeviceAfter) {
			t.Errorf("%s=%q: %v, want an error naming the variable", EnvLoseDeviceAfter, bad, err)
		}
	}
}
