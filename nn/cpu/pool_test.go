package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"catsynth/nn/backend"
)

// tapPool is Pool2D as first written (a bounds test per window tap), kept as
// the reference the span loops must match bit for bit.
func tapPool(op backend.PoolOp, x []float32, p backend.Pool) []float32 {
	oh, ow := p.OH(), p.OW()
	out := make([]float32, p.Planes*oh*ow)
	inv := 1 / float32(p.K*p.K)
	for pl := 0; pl < p.Planes; pl++ {
		src := x[pl*p.H*p.W:]
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				var acc float32
				best := -1
				bv := float32(math.Inf(-1))
				for kh := 0; kh < p.K; kh++ {
					h := i*p.Stride - p.Pad + kh
					for kw := 0; kw < p.K; kw++ {
						w := j*p.Stride - p.Pad + kw
						if h < 0 || h >= p.H || w < 0 || w >= p.W {
							continue
						}
						v := src[h*p.W+w]
						acc += v
						if best < 0 || v > bv {
							best, bv = h*p.W+w, v
						}
					}
				}
				if op == backend.MaxPool {
					out[(pl*oh+i)*ow+j] = bv
				} else {
					out[(pl*oh+i)*ow+j] = acc * inv
				}
			}
		}
	}
	return out
}

// poolShapes are InceptionV3's and MobileNetV2's pooling shapes (scaled down)
// and edge cases of padding and stride.
var poolShapes = []backend.Pool{
	{Planes: 3, H: 35, W: 35, K: 3, Stride: 1, Pad: 1}, // Inception's branch avg pool
	{Planes: 3, H: 147, W: 147, K: 3, Stride: 2},       // stem max pool
	{Planes: 2, H: 17, W: 17, K: 3, Stride: 2},
	{Planes: 2, H: 8, W: 8, K: 8, Stride: 8}, // global pool
	{Planes: 2, H: 7, W: 8, K: 3, Stride: 2, Pad: 1},
	{Planes: 1, H: 9, W: 9, K: 4, Stride: 4, Pad: 2},
	{Planes: 2, H: 4, W: 3, K: 1, Stride: 1},
}

func TestPool2DMatchesTapReference(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	be := New()
	for _, p := range poolShapes {
		for _, op := range []backend.PoolOp{backend.AvgPool, backend.MaxPool} {
			x := randSlice(rng, p.Planes*p.H*p.W)
			if op == backend.MaxPool {
				for i := range x { // ties: the first maximum must win, as before
					x[i] = float32(math.Floor(float64(x[i]) * 2))
				}
			}
			want := tapPool(op, x, p)
			dst := &Buffer{make([]float32, len(want))}
			be.Pool2D(op, dst, &Buffer{x}, p)
			for i, v := range dst.data {
				if math.Float32bits(v) != math.Float32bits(want[i]) {
					t.Fatalf("%v op %d: out[%d] = %v, the tap loop gives %v", p, op, i, v, want[i])
				}
			}
		}
	}
}

// BenchmarkPool2D times InceptionV3's pooling shapes at batch 4.
func BenchmarkPool2D(b *testing.B) {
	for _, c := range []struct {
		op backend.PoolOp
		p  backend.Pool
	}{
		{backend.AvgPool, backend.Pool{Planes: 4 * 192, H: 35, W: 35, K: 3, Stride: 1, Pad: 1}},
		{backend.MaxPool, backend.Pool{Planes: 4 * 64, H: 147, W: 147, K: 3, Stride: 2}},
	} {
		b.Run(fmt.Sprintf("op%d_%dx%d_k%d_s%d", c.op, c.p.H, c.p.W, c.p.K, c.p.Stride), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			be := New()
			x := &Buffer{randSlice(rng, c.p.Planes*c.p.H*c.p.W)}
			dst := &Buffer{make([]float32, c.p.Planes*c.p.OH()*c.p.OW())}
			b.ResetTimer()
			for b.Loop() {
				be.Pool2D(c.op, dst, x, c.p)
			}
			b.ReportMetric(float64(len(x.data)*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
