package eval

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"catsynth/backbone"
	"catsynth/nn"
)

// BenchmarkFeatures times pooled-feature extraction with the converted
// backbones under weights/backbones (skipped when absent), batches of 4,
// reporting milliseconds per image. Backend: $CATSYNTH_BACKEND (default auto).
func BenchmarkFeatures(b *testing.B) {
	for _, m := range []string{"mobilenet_v2", "inception_v3"} {
		b.Run(m, func(b *testing.B) {
			path := filepath.Join("..", "weights", "backbones", "nsfwjs-"+m+".safetensors.zst")
			if _, err := os.Stat(path); err != nil {
				b.Skipf("%s not present", path)
			}
			dev, err := nn.Open("")
			if err != nil {
				b.Fatal(err)
			}
			net, err := backbone.Load(dev, path)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Release()
			const n = 4
			s := net.Spec
			imgs := make([]float32, n*3*s.InputH*s.InputW)
			for i := range imgs {
				imgs[i] = float32(i%251) / 251
			}
			if _, err := Embed(net, imgs, n); err != nil { // compile and warm up
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if _, err := Embed(net, imgs, n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N*n), "ms/image")
			b.Logf("backend %s", dev.Name())
		})
	}
}
