package diffusion

import (
	"math/rand/v2"
	"testing"
	"time"

	"catsynth/nn"
	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

func testRNG(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed)), seed
}

func cpuDevice() *nn.Device { return nn.NewDevice(cpu.New()) }

// metaBackend allocates no memory: it lets a test build the 600M-parameter
// official U-Net to read its names and shapes. Any kernel call panics (the
// embedded nil interface).
type metaBackend struct{ backend.Backend }

type metaBuf int

func (b metaBuf) Len() int { return int(b) }

func (metaBackend) Name() string                              { return "meta" }
func (metaBackend) Alloc(n int) (backend.Buffer, error)       { return metaBuf(n), nil }
func (metaBackend) Free(backend.Buffer)                       {}
func (metaBackend) Upload(backend.Buffer, []float32)          {}
func (metaBackend) Fill(dst backend.Buffer, n int, v float32) {}

func randn(r *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * r.NormFloat64())
	}
	return v
}

// oneHotMap draws a (b, s, h, w) one-hot map of random rectangles of classes.
func oneHotMap(r *rand.Rand, b, s, h, w int) []float32 {
	out := make([]float32, b*s*h*w)
	for n := range b {
		cls := make([]int, h*w)
		for i := range cls {
			cls[i] = r.IntN(s)
		}
		for range 3 {
			c, y0, x0 := r.IntN(s), r.IntN(h), r.IntN(w)
			for y := y0; y < min(h, y0+h/2); y++ {
				for x := x0; x < min(w, x0+w/2); x++ {
					cls[y*w+x] = c
				}
			}
		}
		for i, c := range cls {
			out[((n*s+c)*h*w)+i] = 1
		}
	}
	return out
}

// randomizeZeroInit gives the zero-initialised output convs random values
// so that a fresh model's output depends on every layer.
func randomizeZeroInit(r *rand.Rand, u *UNet) {
	for _, p := range u.Params.All() {
		d, _ := p.T.Data()
		allZero := true
		for _, v := range d {
			if v != 0 {
				allZero = false
				break
			}
		}
		if allZero && p.Trainable {
			p.T.Upload(randn(r, len(d), 0.05))
		}
	}
}
