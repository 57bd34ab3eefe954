package diffusion

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"catsynth/nn"
)

// oracle returns a denoiser that knows the clean images x0 (B, 3, H, W):
// it predicts the exact epsilon of x_t under sched, and v on the variance
// channels. Rows beyond B (the guidance pass) repeat the first B. It hands
// the epsilons of each call to seen.
func oracle(sched *Schedule, x0 []float32, b0 int, v float32, seen func(t int, eps []float64)) Denoiser {
	return func(x *nn.Tensor, t []float64, _ *nn.Tensor) *nn.Tensor {
		xd, _ := x.Data()
		b := x.Dim(0)
		per := len(xd) / b
		res := make([]float32, 2*len(xd))
		var all []float64
		for bi := range b {
			ab := sched.AlphasCumprod[int(t[bi])]
			src := bi % b0
			for j := range per {
				eps := (float64(xd[bi*per+j]) - math.Sqrt(ab)*float64(x0[src*per+j])) / math.Sqrt(1-ab)
				res[bi*2*per+j] = float32(eps)
				res[bi*2*per+per+j] = v
				if bi < b0 {
					all = append(all, eps)
				}
			}
		}
		seen(int(t[0]), all)
		return x.Device().FromData(res, b, 2*x.Dim(1), x.Dim(2), x.Dim(3))
	}
}

func meanStd(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)))
}

// With an exact epsilon, DDIM (any eta) and DDPM end at the clean image,
// for any number of steps; on the way, every x_t the model sees must be
// distributed as q(x_t | x_0) (standard normal epsilon): DDIM keeps those
// marginals by design, and so does DDPM with the posterior variance (the
// learned range at v = -1). That checks every coefficient of the updates.
func TestSamplersRecoverCleanImageWithOracle(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	const b, h, w = 2, 32, 32
	x0 := make([]float32, b*3*h*w)
	for i := range x0 {
		x0[i] = float32(r.Float64()*1.8 - 0.9)
	}
	sched, _ := ConfigSchedule(Tiny(3))
	y := dev.FromData(oneHotMap(r, b, 3, h, w), b, 3, h, w)
	cases := []struct {
		name   string
		o      SampleOptions
		learnS bool
	}{
		{"ddim eta 0, 10 steps", SampleOptions{Steps: 10}, true},
		{"ddim eta 0.7, 25 steps", SampleOptions{Steps: 25, Eta: 0.7}, true},
		{"ddim 1 step", SampleOptions{Steps: 1}, false},
		{"ddpm learned sigma, 20 steps", SampleOptions{Method: MethodDDPM, Steps: 20}, true},
		{"ddpm learned sigma, 200 steps", SampleOptions{Method: MethodDDPM, Steps: 200, Guidance: 1}, true},
	}
	for _, tc := range cases {
		calls := 0
		seen := func(ts int, eps []float64) {
			calls++
			if tc.o.Steps == 1 {
				return // x_T ~ N(0, 1) is not q(x_0 | x_0): nothing to check
			}
			if m, sd := meanStd(eps); math.Abs(m) > 0.1 || math.Abs(sd-1) > 0.1 {
				t.Errorf("%s: at t=%d the implied epsilon has mean %.3f, std %.3f (want 0, 1)", tc.name, ts, m, sd)
			}
		}
		s := &Sampler{Model: oracle(sched, x0, b, -1, seen), Schedule: sched, LearnSigma: tc.learnS, Channels: 3}
		tc.o.Seed = seed
		got, err := s.Sample(context.Background(), y, tc.o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		worst := 0.0
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-x0[i])))
		}
		if worst > 1e-4 {
			t.Errorf("%s: final image differs from x0 by %g", tc.name, worst)
		}
		if calls != tc.o.Steps {
			t.Errorf("%s: %d model calls, want %d", tc.name, calls, tc.o.Steps)
		}
	}
}

// Guidance combines the conditional and null passes as eps_u + s (eps_c -
// eps_u), the null pass seeing an all-zero label map; s = 1 runs one pass.
func TestGuidance(t *testing.T) {
	r, _ := testRNG(t)
	dev := cpuDevice()
	const b, h, w = 2, 4, 4
	sched, _ := ConfigSchedule(Tiny(3))
	var rows []int
	var xSeen []float32
	var nullSum, condSum float64
	// eps = 0.1 per unit of label mass at the pixel: 0.1 conditional
	// (one-hot), 0 for the null map.
	model := func(x *nn.Tensor, _ []float64, y *nn.Tensor) *nn.Tensor {
		rows = append(rows, x.Dim(0))
		xSeen, _ = x.Data()
		yd, _ := y.Data()
		per := 3 * h * w
		out := make([]float32, 2*x.Dim(0)*per)
		for bi := range x.Dim(0) {
			for p := range h * w {
				mass := float32(0)
				for c := range 3 {
					mass += yd[(bi*3+c)*h*w+p]
				}
				if bi < b {
					condSum += float64(mass)
				} else {
					nullSum += float64(mass)
				}
				for c := range 3 {
					out[bi*2*per+c*h*w+p] = 0.1 * mass
				}
			}
		}
		return dev.FromData(out, x.Dim(0), 6, h, w)
	}
	y := dev.FromData(oneHotMap(r, b, 3, h, w), b, 3, h, w)
	s := &Sampler{Model: model, Schedule: sched, LearnSigma: true, Channels: 3}
	for _, g := range []float64{1, 1.5, 3} {
		rows = nil
		nullSum, condSum = 0, 0
		var x0 []float32
		_, err := s.Sample(context.Background(), y, SampleOptions{Steps: 1, Guidance: g, Progress: func(_, _ int, p []float32) { x0 = append([]float32(nil), p...) }})
		if err != nil {
			t.Fatal(err)
		}
		wantRows := 2 * b
		if g == 1 {
			wantRows = b
		}
		if len(rows) != 1 || rows[0] != wantRows {
			t.Errorf("s=%g: model calls with batches %v, want one of %d", g, rows, wantRows)
		}
		if nullSum != 0 || condSum != float64(b*h*w) {
			t.Errorf("s=%g: label mass %g in the null pass (want 0), %g conditional (want %d)", g, nullSum, condSum, b*h*w)
		}
		ab := sched.AlphasCumprod[0]
		eps := 0.1 * g // eps_u = 0, eps_c = 0.1
		for i, v := range x0 {
			want := math.Max(-1, math.Min(1, math.Sqrt(1/ab)*float64(xSeen[i])-math.Sqrt(1/ab-1)*eps))
			if math.Abs(float64(v)-want) > 1e-5 {
				t.Fatalf("s=%g: x0[%d] = %g, want %g", g, i, v, want)
			}
		}
	}
}

// Sampling the tiny U-Net is deterministic per seed and differs between
// seeds, for each method; cancellation stops between steps.
func TestSampleDeterministicPerSeed(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(3), seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	randomizeZeroInit(r, u)
	s, err := u.Sampler()
	if err != nil {
		t.Fatal(err)
	}
	const b, h, w = 1, 16, 16
	y := dev.FromData(oneHotMap(r, b, 3, h, w), b, 3, h, w)
	for _, o := range []SampleOptions{{Steps: 3}, {Steps: 3, Eta: 0.5}, {Method: MethodDDPM, Steps: 3}} {
		run := func(sd uint64) []float32 {
			o.Seed = sd
			img, err := s.Sample(context.Background(), y, o)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
		live := dev.LiveBuffers()
		a, a2, c := run(7), run(7), run(8)
		if got := dev.LiveBuffers(); got != live {
			t.Errorf("%+v: %d device buffers before sampling, %d after", o, live, got)
		}
		same, differ := true, false
		for i := range a {
			same = same && a[i] == a2[i]
			differ = differ || math.Abs(float64(a[i]-c[i])) > 1e-3
			if math.IsNaN(float64(a[i])) {
				t.Fatalf("%+v: NaN in the image", o)
			}
		}
		if !same || !differ {
			t.Errorf("%+v: same seed identical %v (want true), other seed differs %v (want true)", o, same, differ)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = s.Sample(ctx, y, SampleOptions{Steps: 5, Progress: func(step, total int, x0 []float32) {
		calls++
		if total != 5 || len(x0) != 3*h*w {
			t.Errorf("progress(%d, %d, %d values)", step, total, len(x0))
		}
		if step == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Errorf("cancelled sampling: err %v after %d steps, want context.Canceled after 2", err, calls)
	}
	bad := dev.Zeros(1, 5, h, w)
	if _, err := s.Sample(context.Background(), bad, SampleOptions{}); err == nil || !strings.Contains(err.Error(), "5 channels") {
		t.Errorf("a 5-channel map for a 3-class model: %v", err)
	}
	odd := dev.Zeros(1, 3, 15, 16)
	if _, err := s.Sample(context.Background(), odd, SampleOptions{}); err == nil || !strings.Contains(err.Error(), "15x16") {
		t.Errorf("a 15x16 map: %v", err)
	}
	if _, err := s.Sample(context.Background(), y, SampleOptions{Method: "euler"}); err == nil {
		t.Error("unknown method accepted")
	}
	if _, err := s.Sample(context.Background(), y, SampleOptions{Steps: 2000}); err == nil {
		t.Error("2000 steps of 1000 accepted")
	}
}
