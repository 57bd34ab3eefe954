package nn

import "testing"

// BenchmarkFitDemoStep times training steps of the FitDemo net on the CPU
// backend (forward, backward, Adam, one loss readback per step).
func BenchmarkFitDemoStep(b *testing.B) {
	dev := testDevice()
	b.ResetTimer()
	if _, err := FitDemo(dev, b.N, 1, nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConv3x3Forward times a scoped inference convolution
// (N=1, 32->32 channels, 64x64) through nn, including buffer pooling.
func BenchmarkConv3x3Forward(b *testing.B) {
	dev := testDevice()
	ps := NewParams(dev, 1)
	conv := NewConv2d(ps, 32, 32, 3, 1, 1, true)
	x := dev.Ones(1, 32, 64, 64)
	ps.SetTraining(false)
	prev := dev.SetGradEnabled(false)
	defer dev.SetGradEnabled(prev)
	b.ResetTimer()
	for range b.N {
		s := dev.Scope()
		if _, err := Sum(conv.Forward(x), nil, false).Item(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
