package nn

import (
	"math"
	"os"
	"testing"

	"catsynth/nn/cpu"
)

func TestFitDemoLossFalls(t *testing.T) {
	dev := testDevice()
	live := dev.LiveBuffers()
	const steps = 200
	losses, err := FitDemo(dev, steps, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, last := losses[0], losses[len(losses)-1]
	t.Logf("loss %g -> %g over %d steps", first, last, steps)
	if !(last*10 <= first) {
		t.Errorf("loss fell from %g to %g, want at least 10x", first, last)
	}
	if dev.LiveBuffers() != live {
		t.Errorf("FitDemo leaked %d buffers", dev.LiveBuffers()-live)
	}
}

// The same fit on the GPU backend falls just as far and agrees with the CPU
// reference on its first steps (the data and the initial weights depend only
// on the seed). Skips without an adapter unless CATSYNTH_REQUIRE_GPU=1.
func TestFitDemoGPUAgreesWithCPU(t *testing.T) {
	gpuDev, err := Open("gpu")
	if err != nil {
		if os.Getenv("CATSYNTH_REQUIRE_GPU") == "1" {
			t.Fatalf("CATSYNTH_REQUIRE_GPU=1 but no GPU: %v", err)
		}
		t.Skipf("no GPU: %v", err)
	}
	t.Logf("gpu: %s", gpuDev.Name())
	const steps, seed = 60, 3
	ref, err := FitDemo(NewDevice(cpu.New()), steps, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FitDemo(gpuDev, steps, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if d := math.Abs(float64(got[i]-ref[i])) / float64(ref[i]); d > 1e-3 {
			t.Errorf("step %d: gpu loss %g, cpu loss %g (relative difference %.2g)", i, got[i], ref[i], d)
		}
	}
	if got[steps-1]*10 > got[0] {
		t.Errorf("gpu loss fell from %g to %g, want at least 10x", got[0], got[steps-1])
	}
	t.Logf("cpu %g -> %g, gpu %g -> %g", ref[0], ref[steps-1], got[0], got[steps-1])
}
