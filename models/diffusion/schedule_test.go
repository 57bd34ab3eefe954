package diffusion

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// The schedules' values against their closed forms.
func TestScheduleClosedForms(t *testing.T) {
	lin, err := NamedBetas(ScheduleLinear, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !near(lin[0], 1e-4, 1e-12) || !near(lin[999], 0.02, 1e-12) || !near(lin[500], 1e-4+(0.02-1e-4)*500/999, 1e-12) {
		t.Errorf("linear betas %g, %g, %g", lin[0], lin[500], lin[999])
	}
	lin250, _ := NamedBetas(ScheduleLinear, 250)
	if !near(lin250[0], 4e-4, 1e-12) || !near(lin250[249], 0.08, 1e-12) {
		t.Errorf("linear T=250 betas %g..%g, want 4e-4..0.08 (scaled by 1000/T)", lin250[0], lin250[249])
	}
	cos, _ := NamedBetas(ScheduleCosine, 1000)
	abar := func(s float64) float64 { c := math.Cos((s + 0.008) / 1.008 * math.Pi / 2); return c * c }
	sc := NewSchedule(cos, nil)
	for _, i := range []int{0, 10, 500, 900} {
		// Without capping, the product telescopes to alpha_bar((i+1)/T) / alpha_bar(0).
		if want := abar(float64(i+1)/1000) / abar(0); !near(sc.AlphasCumprod[i], want, 1e-9) {
			t.Errorf("cosine alpha_bar[%d] = %g, want %g", i, sc.AlphasCumprod[i], want)
		}
	}
	if cos[999] != 0.999 {
		t.Errorf("cosine beta[999] = %g, want the cap 0.999", cos[999])
	}
	s := NewSchedule(lin, nil)
	for _, i := range []int{0, 1, 37, 999} {
		prod := 1.0
		for j := 0; j <= i; j++ {
			prod *= 1 - lin[j]
		}
		if !near(s.AlphasCumprod[i], prod, 1e-12) {
			t.Errorf("alpha_bar[%d] = %g, want %g", i, s.AlphasCumprod[i], prod)
		}
		ap := 1.0
		if i > 0 {
			ap = s.AlphasCumprod[i-1]
		}
		if want := lin[i] * (1 - ap) / (1 - prod); !near(s.PosteriorVariance[i], want, 1e-12) {
			t.Errorf("posterior variance[%d] = %g, want %g", i, s.PosteriorVariance[i], want)
		}
		if want := (1 - ap) * math.Sqrt(1-lin[i]) / (1 - prod); !near(s.PosteriorMeanCoef2[i], want, 1e-12) {
			t.Errorf("coef2[%d] = %g, want %g", i, s.PosteriorMeanCoef2[i], want)
		}
	}
	if s.PosteriorVariance[0] != 0 || s.PosteriorLogVarClipped[0] != math.Log(s.PosteriorVariance[1]) {
		t.Errorf("posterior variance[0] = %g (want 0), clipped log %g (want log var[1])", s.PosteriorVariance[0], s.PosteriorLogVarClipped[0])
	}
	if _, err := NamedBetas("quadratic", 1000); err == nil {
		t.Error("unknown schedule accepted")
	}
}

func TestRespace(t *testing.T) {
	ts, err := SpacedTimesteps(1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	if ts[0] != 0 || ts[49] != 999 || ts[1] != 20 || ts[2] != 41 {
		t.Errorf("spaced timesteps start %v .. %d", ts[:3], ts[49])
	}
	full, _ := ConfigSchedule(Tiny(3))
	for _, k := range []int{1, 7, 50, 1000} {
		sp, err := full.Respace(k)
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range sp.Timesteps {
			if !near(sp.AlphasCumprod[i], full.AlphasCumprod[j], 1e-12) {
				t.Errorf("k=%d: respaced alpha_bar[%d] = %g, original[%d] = %g", k, i, sp.AlphasCumprod[i], j, full.AlphasCumprod[j])
			}
		}
	}
	if _, err := full.Respace(0); err == nil {
		t.Error("0 steps accepted")
	}
	if _, err := full.Respace(1001); err == nil {
		t.Error("1001 steps of 1000 accepted")
	}
}
