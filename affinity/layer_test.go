package affinity

import (
	"math"
	"testing"

	"catsynth/nn"
)

// onehotInput returns a random one-hot map (B, T, H, W) and its labels.
func onehotInput(r interface{ IntN(int) int }, B, T, H, W int) ([]float32, []int) {
	x := make([]float32, B*T*H*W)
	lab := make([]int, B*H*W)
	for b := 0; b < B; b++ {
		for p := 0; p < H*W; p++ {
			t := r.IntN(T)
			lab[b*H*W+p] = t
			x[(b*T+t)*H*W+p] = 1
		}
	}
	return x, lab
}

func TestLayerFrozen(t *testing.T) {
	r := testRNG(t)
	dev := cpuDevice()
	m := randomMatrix(r, 4, 6)
	ps := nn.NewParams(dev, 1)
	l, err := NewLayer(ps.Sub(ParamPrefix), m, LayerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ps.Count() != 0 || len(ps.Trainable()) != 0 || l.Trainable() {
		t.Errorf("frozen layer has %d trainable values", ps.Count())
	}
	if _, ok := ps.Get("affinity.weight"); !ok {
		t.Errorf("no parameter affinity.weight: %v", ps.All())
	}
	B, T, S, H, W := 2, 4, 6, 3, 5
	x, lab := onehotInput(r, B, T, H, W)
	y := l.Forward(dev.FromData(x, B, T, H, W))
	if got := y.Shape(); got[0] != B || got[1] != S || got[2] != H || got[3] != W {
		t.Fatalf("output shape %v", got)
	}
	out, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < B; b++ {
		for p := 0; p < H*W; p++ {
			sum := 0.0
			for s := 0; s < S; s++ {
				v := float64(out[(b*S+s)*H*W+p])
				if !near(v, m.W[lab[b*H*W+p]][s], 1e-6) {
					t.Fatalf("pixel %d of image %d, class %d: %v, want A[%d][%d] = %v", p, b, s, v, lab[b*H*W+p], s, m.W[lab[b*H*W+p]][s])
				}
				sum += v
			}
			if !near(sum, 1, 1e-5) {
				t.Errorf("pixel %d of image %d sums to %v", p, b, sum)
			}
		}
	}
	back, err := l.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if !near(back.W[2][3], m.W[2][3], 1e-7) {
		t.Errorf("Matrix() = %v, want %v", back.W[2], m.W[2])
	}
}

func TestLayerTrainedInitAndGradient(t *testing.T) {
	r := testRNG(t)
	dev := cpuDevice()
	const T, S, B, H, W = 3, 4, 2, 2, 3
	m := randomMatrix(r, T, S)
	m.W[0] = []float64{1, 0, 0, 0} // a hard row: logits must stay finite
	for _, temp := range []float64{1, 2.5} {
		ps := nn.NewParams(dev, 1)
		l, err := NewLayer(ps.Sub(ParamPrefix), m, LayerOptions{Train: true, Temperature: temp})
		if err != nil {
			t.Fatal(err)
		}
		p, ok := ps.Get("affinity.logits")
		if !ok || !p.Trainable || ps.Count() != T*S {
			t.Fatalf("trained layer: params %v", ps.All())
		}
		init, err := l.Matrix()
		if err != nil {
			t.Fatal(err)
		}
		for i := range m.W {
			for j := range m.W[i] {
				if !near(init.W[i][j], m.W[i][j], float64(S)*LogitEps+1e-6) {
					t.Errorf("temp %g: initial A[%d][%d] = %v, want %v", temp, i, j, init.W[i][j], m.W[i][j])
				}
			}
		}
		// loss = sum(R * Forward(y)) with a soft (not one-hot) input y
		y := make([]float32, B*T*H*W)
		for i := range y {
			y[i] = float32(r.Float64())
		}
		R := make([]float32, B*S*H*W)
		for i := range R {
			R[i] = float32(r.NormFloat64())
		}
		// move the logits off the initial point so the softmax is not saturated everywhere
		lg0, _ := p.T.Data()
		for i := range lg0 {
			lg0[i] = float32(r.NormFloat64())
		}
		p.T.Upload(lg0)
		sc := dev.Scope()
		loss := nn.SumAll(nn.Mul(l.Forward(dev.FromData(y, B, T, H, W)), dev.FromData(R, B, S, H, W)))
		loss.Backward()
		sc.Close()
		g, err := p.T.Grad().Data()
		if err != nil {
			t.Fatal(err)
		}
		p.T.ZeroGrad()
		host := func(lg []float64) float64 {
			a := make([]float64, T*S)
			for i := 0; i < T; i++ {
				row := make([]float64, S)
				for j := range row {
					row[j] = lg[i*S+j]
				}
				softmaxRow(row, temp)
				copy(a[i*S:], row)
			}
			tot := 0.0
			for b := 0; b < B; b++ {
				for s := 0; s < S; s++ {
					for px := 0; px < H*W; px++ {
						v := 0.0
						for tt := 0; tt < T; tt++ {
							v += float64(y[(b*T+tt)*H*W+px]) * a[tt*S+s]
						}
						tot += float64(R[(b*S+s)*H*W+px]) * v
					}
				}
			}
			return tot
		}
		lg := f64(lg0)
		for i := range lg {
			const h = 1e-5
			old := lg[i]
			lg[i] = old + h
			up := host(lg)
			lg[i] = old - h
			down := host(lg)
			lg[i] = old
			fd := (up - down) / (2 * h)
			if math.Abs(fd-float64(g[i])) > 1e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("temp %g: d loss / d logits[%d] = %v, finite differences %v", temp, i, g[i], fd)
			}
		}
		ps.Release()
	}
}

func TestLayerErrors(t *testing.T) {
	dev := cpuDevice()
	bad := NewMatrix([]string{"a"}, []string{"x"}) // empty row
	if _, err := NewLayer(nn.NewParams(dev, 1), bad, LayerOptions{}); err == nil {
		t.Error("empty row: no error")
	}
	good := NewMatrix([]string{"a"}, []string{"x"})
	good.W[0][0] = 1
	if _, err := NewLayer(nn.NewParams(dev, 1), good, LayerOptions{Train: true, Temperature: -1}); err == nil {
		t.Error("negative temperature: no error")
	}
	l, err := NewLayer(nn.NewParams(dev, 1), good, LayerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Forward with 2 channels for 1 target class did not panic")
		}
	}()
	l.Forward(dev.Zeros(1, 2, 2, 2))
}

// BenchmarkLayerForward: ADE20K targets (150) onto COCO-Stuff sources (182),
// batch 4 at 64x64, on the CPU backend.
func BenchmarkLayerForward(b *testing.B) {
	dev := cpuDevice()
	m := NewMatrix(ADE20KClasses, COCOStuffClasses)
	for t := range m.W {
		m.W[t][t%len(COCOStuffClasses)] = 1
	}
	l, err := NewLayer(nn.NewParams(dev, 1).Sub(ParamPrefix), m, LayerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	x := dev.Zeros(4, 150, 64, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc := dev.Scope()
		y := l.Forward(x)
		if _, err := y.Data(); err != nil {
			b.Fatal(err)
		}
		sc.Close()
	}
}
