package diffusion

import (
	"context"
	"math"
	"testing"
)

// classImages colours each pixel by its class (a learnable function of the
// label map), in [-1, 1].
func classImages(labels []float32, b, s, h, w int) []float32 {
	img := make([]float32, b*3*h*w)
	for n := range b {
		for p := range h * w {
			for c := range s {
				if labels[(n*s+c)*h*w+p] == 0 {
					continue
				}
				for k := range 3 {
					img[(n*3+k)*h*w+p] = float32(math.Cos(float64(c*3+k))) * 0.9
				}
			}
		}
	}
	return img
}

// On a fixed batch, 50 steps of the tiny model bring the epsilon loss
// clearly below where it started (a fresh model predicts 0: MSE 1).
func TestTrainLossFalls(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(3), seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	tr, err := NewTrainer(u, TrainConfig{LR: 2e-3, DropRate: 0.2, Seed: seed, EMADecay: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	const b, s, h, w = 4, 3, 16, 16
	lab := oneHotMap(r, b, s, h, w)
	batch := Batch{N: b, H: h, W: w, Labels: lab, Images: classImages(lab, b, s, h, w)}
	live := dev.LiveBuffers()
	var mse, vb []float64
	err = tr.Train(context.Background(), 50, func(int) (Batch, error) { return batch, nil }, func(_ int, l Losses) {
		mse = append(mse, float64(l.MSE))
		vb = append(vb, float64(l.VB))
		if math.Abs(float64(l.Loss-l.MSE-l.VB)) > 1e-4*math.Max(1, float64(l.Loss)) {
			t.Errorf("loss %g is not mse %g + vb %g", l.Loss, l.MSE, l.VB)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.LiveBuffers(); got != live {
		t.Errorf("%d device buffers before training, %d after 50 steps", live, got)
	}
	// The EMA (decay 0.99) of a trained weight lies strictly between its
	// start and its current value on average: it moved, but less.
	fresh, _ := NewUNet(cpuDevice(), Tiny(3), seed) // the same initial weights
	defer fresh.Release()
	for i, p := range u.Params.All() {
		if p.Name != "input_blocks.1.0.in_layers.2.weight" {
			continue
		}
		start, _ := fresh.Params.All()[i].T.Data()
		now, _ := p.T.Data()
		avg, _ := tr.EMA.Shadow()[i].T.Data()
		var dNow, dAvg float64
		for k := range now {
			dNow += math.Abs(float64(now[k] - start[k]))
			dAvg += math.Abs(float64(avg[k] - start[k]))
		}
		t.Logf("%s: moved %.3g, its EMA %.3g (L1)", p.Name, dNow, dAvg)
		if dAvg <= 0 || dAvg >= dNow {
			t.Errorf("%s: EMA moved %g from the start, the weight %g: want 0 < EMA < weight", p.Name, dAvg, dNow)
		}
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	first, last := mean(mse[:5]), mean(mse[40:])
	t.Logf("epsilon MSE: first 5 steps %.3f, last 10 %.3f; vb first %.4f last %.4f", first, last, mean(vb[:5]), mean(vb[40:]))
	if first < 0.8 || last > 0.6*first {
		t.Errorf("epsilon MSE went from %.3f to %.3f over 50 steps; want a start near 1 and a fall below 60%%", first, last)
	}
	if _, err := tr.StepMaps(Batch{N: 1, H: 15, W: 16}); err == nil {
		t.Error("a 15 px batch was accepted")
	}
}

// The VB term against a float64 transcription of guided_diffusion's
// normal_kl and discretized_gaussian_log_likelihood.
func TestVBTermMatchesFormula(t *testing.T) {
	r, _ := testRNG(t)
	dev := cpuDevice()
	s, _ := ConfigSchedule(Tiny(3))
	const b, h, w = 4, 2, 3
	per := 3 * h * w
	ts := []int{0, 1, 500, 999}
	x0 := make([]float32, b*per)
	for i := range x0 {
		x0[i] = float32(r.Float64()*2.2 - 1.1) // some beyond +-0.999: the edge bins
		x0[i] = float32(math.Max(-1, math.Min(1, float64(x0[i]))))
	}
	// x_t from x_0 as training makes it, and an epsilon estimate near the
	// true noise (far-off estimates put the decoder's Gaussian many
	// standard deviations from x_0, where float32 cdf differences round).
	noise, v := randn(r, b*per, 1), randn(r, b*per, 0.5)
	xt, eps := make([]float32, b*per), make([]float32, b*per)
	for i, tt := range ts {
		ab := s.AlphasCumprod[tt]
		for j := range per {
			k := i*per + j
			xt[k] = float32(math.Sqrt(ab)*float64(x0[k]) + math.Sqrt(1-ab)*float64(noise[k]))
			eps[k] = noise[k] + float32(0.05*r.NormFloat64())
		}
	}
	got, err := s.vbTerm(dev.FromData(v, b, 3, h, w), eps, x0, xt, ts).Data()
	if err != nil {
		t.Fatal(err)
	}
	cdf := func(x float64) float64 { return 0.5 * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))) }
	for i, tt := range ts {
		ab := s.AlphasCumprod[tt]
		abp := s.AlphasPrev[tt]
		beta := s.Betas[tt]
		postVar := func(j int) float64 { return s.Betas[j] * (1 - s.AlphasPrev[j]) / (1 - s.AlphasCumprod[j]) }
		minLog := math.Log(postVar(max(tt, 1)))
		sum := 0.0
		for j := range per {
			k := i*per + j
			xs, xtv := float64(x0[k]), float64(xt[k])
			x0p := xtv/math.Sqrt(ab) - math.Sqrt(1/ab-1)*float64(eps[k])
			c1 := beta * math.Sqrt(abp) / (1 - ab)
			c2 := (1 - abp) * math.Sqrt(1-beta) / (1 - ab)
			mm, tm := c1*x0p+c2*xtv, c1*xs+c2*xtv
			frac := (float64(v[k]) + 1) / 2
			lv := frac*math.Log(beta) + (1-frac)*minLog
			if tt > 0 {
				sum += 0.5 * (-1 + lv - minLog + math.Exp(minLog-lv) + (tm-mm)*(tm-mm)*math.Exp(-lv))
				continue
			}
			inv := math.Exp(-0.5 * lv)
			cp, cm := cdf(inv*(xs-mm+1.0/255)), cdf(inv*(xs-mm-1.0/255))
			var lp float64
			switch {
			case xs < -0.999:
				lp = math.Log(math.Max(cp, 1e-12))
			case xs > 0.999:
				lp = math.Log(math.Max(1-cm, 1e-12))
			default:
				lp = math.Log(math.Max(cp-cm, 1e-12))
			}
			sum -= lp
		}
		want := sum / float64(per) / math.Ln2
		if math.Abs(float64(got[i])-want) > 2e-3*math.Max(1, math.Abs(want)) {
			t.Errorf("t=%d: vb %g bits, formula %g", tt, got[i], want)
		}
	}
}
