package nn

import "testing"

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
