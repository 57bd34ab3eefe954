package gan

import (
	"math"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"

	"catsynth/nn"
)

func TestN1Targets(t *testing.T) {
	labels := []int32{2, -1, 0, 4}
	cases := []struct {
		real bool
		want []float32
	}{
		{true, []float32{3, -1, 1, 5}},
		{false, []float32{0, 0, 0, 0}},
	}
	for _, c := range cases {
		got := N1Targets(labels, c.real)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("real=%v: targets %v, want %v", c.real, got, c.want)
				break
			}
		}
	}
}

// TestAdvLoss checks the N+1 loss against a float64 log-softmax on a tiny
// hand-made input: 1 image, 2 classes (3 logits), 2x2 pixels, one ignored.
func TestAdvLoss(t *testing.T) {
	r, _ := testscenes.RNG(t)
	dev := testscenes.CPU()
	const c, hw = 3, 4
	logits := make([]float32, c*hw)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	labels := []int32{0, 1, 1, -1}
	w, _ := models.ClassBalance(labels, 2)
	for _, real := range []bool{true, false} {
		tg := N1Targets(labels, real)
		var wt *nn.Tensor
		if real {
			wt = dev.FromData(w, 1, 2, 2)
		}
		got, err := AdvLoss(dev.FromData(logits, 1, c, 2, 2), dev.FromData(tg, 1, 2, 2), wt).Item()
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0
		for p := range hw {
			k := int(tg[p])
			if k < 0 {
				continue
			}
			lse := 0.0
			for ch := range c {
				lse += math.Exp(float64(logits[ch*hw+p]))
			}
			l := math.Log(lse) - float64(logits[k*hw+p])
			if real {
				l *= float64(w[p])
			}
			want += l
		}
		want /= hw // torch.mean over all pixels, the ignored one included
		if math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
			t.Errorf("real=%v: loss %v, want %v", real, got, want)
		}
	}
}

func TestLabelMixMask(t *testing.T) {
	r, _ := testscenes.RNG(t)
	const b, h, w, n = 3, 8, 8, 12
	labels := blobLabels(r, b, h, w, n)
	labels[5] = -1
	mask := LabelMixMask(labels, r)
	bit := map[int32]float32{}
	seen := map[float32]bool{}
	for i, c := range labels {
		v := mask[i]
		if v != 0 && v != 1 {
			t.Fatalf("mask value %v", v)
		}
		seen[v] = true
		if prev, ok := bit[c]; ok && prev != v {
			t.Fatalf("class %d has both mask values: the mask must be shared per class over the batch", c)
		}
		bit[c] = v
	}
	// With 13 groups, all-equal bits have probability 2^-12: a failure
	// here means the bits are not drawn per class.
	if !seen[0] || !seen[1] {
		t.Errorf("mask is constant over %d classes", len(bit))
	}
}

func TestLabelMixLoss(t *testing.T) {
	r, _ := testscenes.RNG(t)
	dev := testscenes.CPU()
	rnd := func() []float32 {
		v := make([]float32, 2*3*2*2)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	real, fake := rnd(), rnd()
	maskV := []float32{1, 0, 0, 1, 0, 1, 1, 1}
	mask := dev.FromData(maskV, 2, 1, 2, 2)
	dR, dF := dev.FromData(real, 2, 3, 2, 2), dev.FromData(fake, 2, 3, 2, 2)
	// D's output on the mix equal to the mix of outputs: zero loss.
	mixed := MixImages(mask, dR, dF)
	if v, _ := LabelMixLoss(mask, mixed, dF, dR).Item(); math.Abs(float64(v)) > 1e-10 {
		t.Errorf("consistent outputs: loss %v, want 0", v)
	}
	// Against D(fake) everywhere: the loss is the mean of mask*(real-fake)^2.
	want := 0.0
	for i := range real {
		bi, p := i/12, i%4
		m := float64(maskV[bi*4+p])
		d := m * float64(real[i]-fake[i])
		want += d * d
	}
	want /= float64(len(real))
	if v, _ := LabelMixLoss(mask, dF, dF, dR).Item(); math.Abs(float64(v)-want) > 1e-5 {
		t.Errorf("loss %v, want %v", v, want)
	}
	// Mixed images take real pixels where the mask is 1.
	mi, _ := MixImages(mask, dR, dF).Data()
	for i := range mi {
		bi, p := i/12, i%4
		src := fake
		if maskV[bi*4+p] == 1 {
			src = real
		}
		if math.Abs(float64(mi[i]-src[i])) > 1e-6 {
			t.Fatalf("mixed[%d] = %v, want %v", i, mi[i], src[i])
		}
	}
}

// TestSoftAdvLossMatchesAdvLoss: one-hot soft targets give AdvLoss.
func TestSoftAdvLossMatchesAdvLoss(t *testing.T) {
	r, _ := testscenes.RNG(t)
	dev := testscenes.CPU()
	const b, c, h, w = 2, 4, 3, 5
	logits := make([]float32, b*c*h*w)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	idx := make([]float32, b*h*w)
	wts := make([]float32, b*h*w)
	for i := range idx {
		idx[i] = float32(r.IntN(c))
		wts[i] = float32(r.Float64() * 2)
	}
	x := dev.FromData(logits, b, c, h, w)
	want, _ := AdvLoss(x, dev.FromData(idx, b, h, w), dev.FromData(wts, b, h, w)).Item()
	got, _ := SoftAdvLoss(x, nn.OneHot(dev.FromData(idx, b, h, w), c), dev.FromData(wts, b, h, w)).Item()
	if math.Abs(float64(got-want)) > 1e-5*math.Max(1, math.Abs(float64(want))) {
		t.Errorf("SoftAdvLoss %v, AdvLoss %v", got, want)
	}
}

// TestModeSeekLoss: the term is 1 / (mean|x1-x2| / mean|z1-z2| + 1e-5) on
// hand values, its gradient against finite differences pushes the two
// images apart, and no gradient reaches the noise.
func TestModeSeekLoss(t *testing.T) {
	r, _ := testscenes.RNG(t)
	dev := testscenes.CPU()
	const n = 6
	rand := func() []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	a, b, za, zb := rand(), rand(), rand(), rand()
	mean := func(p, q []float32) float64 {
		s := 0.0
		for i := range p {
			s += math.Abs(float64(p[i] - q[i]))
		}
		return s / float64(len(p))
	}
	want := func(a []float32) float64 { return 1 / (mean(a, b)/mean(za, zb) + 1e-5) }
	x1 := dev.FromData(a, 1, n)
	x1.SetRequiresGrad(true)
	z1 := dev.FromData(za, 1, n)
	z1.SetRequiresGrad(true)
	loss := ModeSeekLoss(x1, dev.FromData(b, 1, n), z1, dev.FromData(zb, 1, n))
	got, err := loss.Data()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(got[0])-want(a)) > 1e-5*want(a) {
		t.Fatalf("loss %v, want %v", got[0], want(a))
	}
	loss.Backward()
	g, err := x1.Grad().Data()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		const h = 1e-3
		p, m := append([]float32(nil), a...), append([]float32(nil), a...)
		p[i] += h
		m[i] -= h
		fd := (want(p) - want(m)) / (2 * h)
		if math.Abs(float64(g[i])-fd) > 1e-3*math.Max(1, math.Abs(fd)) {
			t.Errorf("d/dx1[%d]: %v, finite differences %v", i, g[i], fd)
		}
		// Moving x1 away from x2 lowers the loss.
		if (a[i] > b[i]) != (g[i] < 0) {
			t.Errorf("d/dx1[%d] = %v does not push x1 (%v) away from x2 (%v)", i, g[i], a[i], b[i])
		}
	}
	if z1.Grad() != nil {
		t.Error("a gradient reached the noise")
	}
}
