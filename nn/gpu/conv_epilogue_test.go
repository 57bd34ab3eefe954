package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

var testEpilogues = []backend.Epilogue{
	{Shift: true},
	{Scale: true, Shift: true, Act: backend.ActReLU},
	{Shift: true, Act: backend.ActLeakyReLU, Slope: 0.2},
	{Scale: true, Act: backend.ActReLU6},
	{Shift: true, Act: backend.ActTanh},
	{Act: backend.ActLeakyReLU, Slope: 0.01},
}

// TestConvEpilogueVariants runs Conv2DEpilogue on every GEMM variant, the
// direct depthwise kernels (then the epilogue is its own pass) and forced
// split-K (likewise), each conv case with each epilogue, against the CPU
// backend's.
func TestConvEpilogueVariants(t *testing.T) {
	be := openGPU(t)
	ref := cpu.New()
	seed := uint64(2026)
	t.Logf("seed %d", seed)
	old := splitKForce
	defer func() { splitKForce = old }()
	type mode struct {
		variant string
		split   int
	}
	var modes []mode
	for _, v := range append(variantNames(), "dw") {
		modes = append(modes, mode{v, 0})
	}
	modes = append(modes, mode{"v2", 3}, mode{"v4", 2})
	for _, m := range modes {
		t.Run(fmt.Sprintf("%s/split%d", m.variant, m.split), func(t *testing.T) {
			t.Setenv(VariantEnv, m.variant)
			splitKForce = m.split
			r := rand.New(rand.NewPCG(seed, uint64(m.split)))
			for i, c := range convCases {
				for j := range 2 {
					e := testEpilogues[(i+j*3)%len(testEpilogues)]
					checkEpilogue(t, fmt.Sprintf("%s %+v", c.name, e), be, ref, r, c.p, e)
				}
			}
		})
	}
}

func checkEpilogue(t *testing.T, name string, be *Backend, ref mmDev, r *rand.Rand, p backend.Conv, e backend.Epilogue) {
	t.Helper()
	x := mmRandn(r, p.N*p.C*p.H*p.W)
	w := mmRandn(r, p.O*p.C/p.Groups*p.KH*p.KW)
	scale, shift := mmRandn(r, p.O), mmRandn(r, p.O)
	_, ym, _, _, _, _ := refConv(p, x, w, make([]float32, p.N*p.O*p.OH()*p.OW()))
	mag := make([]float64, len(ym))
	per := p.OH() * p.OW()
	for i := range mag {
		o := i / per % p.O
		mag[i] = ym[i]*math.Abs(float64(scale[o])) + math.Abs(float64(shift[o]))
	}
	var outs [2][]float32
	for k, d := range []mmDev{ref, be} {
		epi := d.(backend.ConvEpilogue)
		gx, gw, gs, gh := mmUpload(t, d, x), mmUpload(t, d, w), mmUpload(t, d, scale), mmUpload(t, d, shift)
		gy := mmUpload(t, d, fill(len(ym), float32(math.NaN())))
		var sb, hb backend.Buffer
		if e.Scale {
			sb = gs
		}
		if e.Shift {
			hb = gh
		}
		epi.Conv2DEpilogue(gy, gx, gw, sb, hb, p, e)
		outs[k] = mmDownload(t, d, gy, len(ym))
		for _, b := range []backend.Buffer{gx, gw, gs, gh, gy} {
			d.Free(b)
		}
	}
	want := make([]float64, len(ym))
	for i, v := range outs[0] {
		want[i] = float64(v)
	}
	compare(t, "Conv2DEpilogue "+name, outs[1], want, mag)
}
