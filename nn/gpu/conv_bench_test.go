package gpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchConvShapes are 3x3 same-padding convolutions typical of the
// generator (batch, channels in = out, size); the first is the small one
// that runs on lavapipe.
var benchConvShapes = []struct{ n, c, hw int }{
	{2, 64, 32},
	{16, 256, 64},
	{16, 128, 128},
	{4, 1024, 16},
}

func benchConvName(n, c, hw int) string { return fmt.Sprintf("B%d_C%d_%dx%d", n, c, hw, hw) }

// benchConv benchmarks one convolution primitive (0 forward, 1 grad-input,
// 2 grad-weight) on the given shapes; flops are the forward's.
func benchConv(b *testing.B, which int, shapes []struct{ n, c, hw int }) {
	for _, s := range shapes {
		b.Run(benchConvName(s.n, s.c, s.hw), func(b *testing.B) {
			be := openGPU(b)
			r := rand.New(rand.NewPCG(2, 2))
			p := conv(s.n, s.c, s.hw, s.hw, s.c, 3, 3, 1, 1, 1, 1, 1)
			x := benchBuf(b, be, r, p.N*p.C*p.H*p.W)
			w := benchBuf(b, be, r, p.O*p.C*9)
			y := benchBuf(b, be, r, p.N*p.O*p.OH()*p.OW())
			run := map[int]func(){
				0: func() { be.conv2d(y, x, w, p) },
				1: func() { be.conv2dGradInput(x, y, w, p) },
				2: func() { be.conv2dGradWeight(w, x, y, p) },
			}[which]
			out := []*Buffer{y, x, w}[which]
			benchGPU(b, be, out, p.Flops(), run)
		})
	}
}

func BenchmarkConv3x3(b *testing.B) { benchConv(b, 0, benchConvShapes) }

func BenchmarkConv3x3GradInput(b *testing.B) { benchConv(b, 1, benchConvShapes[:2]) }

func BenchmarkConv3x3GradWeight(b *testing.B) { benchConv(b, 2, benchConvShapes[:2]) }
