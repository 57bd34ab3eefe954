package seg

import (
	"testing"

	"catsynth/nn"
)

// BenchmarkPredict64 times labelling a batch of 8 images of 64 px with the
// shipped segmenter architecture (widths 32-64-128, 23 classes) on the
// backend of $CATSYNTH_BACKEND (default auto).
func BenchmarkPredict64(b *testing.B) {
	dev, err := nn.Open("")
	if err != nil {
		b.Fatal(err)
	}
	n, err := New(dev, Config{Classes: 23}, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Release()
	const batch, size = 8, 64
	img := make([]float32, batch*3*size*size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.Predict(img, batch, size, size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/image")
}
