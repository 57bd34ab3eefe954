package transfer_test

import (
	"context"
	"image"
	"math"
	"testing"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/internal/testscenes"
	"catsynth/modelref"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/transfer"
)

// softRelation is the domain's true relation to the source classes made
// soft: lambda of it plus (1-lambda) spread evenly over the S source classes.
func softRelation(t *testing.T, domain string, lambda float64) *affinity.Matrix {
	t.Helper()
	rel, err := dataset.SynthRelation(domain)
	if err != nil {
		t.Fatal(err)
	}
	A := affinity.NewMatrix(rel.TargetClasses, rel.SourceClasses)
	S := float64(len(rel.SourceClasses))
	for i, row := range rel.Matrix {
		sum := 0.0
		for _, v := range row {
			sum += v
		}
		for j, v := range row {
			w := 1 / S
			if sum > 0 {
				w = v / sum
			}
			A.W[i][j] = lambda*w + (1-lambda)/S
		}
	}
	return A
}

// labelSignal is what the network behind the label layer gets of each
// target class: the layer's output for a one-hot pixel of class t. It
// returns the mean L2 norm of those T vectors and their mean pairwise
// distance.
func labelSignal(t *testing.T, dev *nn.Device, m *transfer.Model) (norm, dist float64) {
	t.Helper()
	T := m.T()
	lab := make([]int32, T)
	for i := range lab {
		lab[i] = int32(i)
	}
	y, err := models.OneHotLabels(dev, lab, T, 1, 1, T)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Tuner.Layer().Forward(y).Data()
	if err != nil {
		t.Fatal(err)
	}
	return rowSignal(out, T)
}

// rowSignal is the mean L2 norm of the T rows of w (T x S, row-major) and
// their mean pairwise distance.
func rowSignal[F float32 | float64](w []F, T int) (norm, dist float64) {
	S := len(w) / T
	out := w
	k := 0
	for a := range T {
		ra := out[a*S : (a+1)*S]
		n := 0.0
		for _, v := range ra {
			n += float64(v) * float64(v)
		}
		norm += math.Sqrt(n) / float64(T)
		for b := a + 1; b < T; b++ {
			rb := out[b*S : (b+1)*S]
			d := 0.0
			for s := range ra {
				x := float64(ra[s] - rb[s])
				d += x * x
			}
			dist += math.Sqrt(d)
			k++
		}
	}
	return norm, dist / float64(k)
}

// labelR2 is the share of the generated images' colour variance that the
// label map explains: the between-class variance of the pixels' RGB over
// the total, pooled over the maps. A generator that follows the layout has
// it high; one that draws the same position-locked picture whatever the map
// has it near what chance gives.
func labelR2(t *testing.T, m *transfer.Model, b models.Batch, seed uint64) float64 {
	t.Helper()
	imgs, err := m.Generate(b.Labels, b.H, b.W, models.SeedRange(seed, b.N))
	if err != nil {
		t.Fatal(err)
	}
	return imagesLabelR2(imgs, b, m.T())
}

// imagesLabelR2 is labelR2 of given images of b's maps with T classes.
func imagesLabelR2(imgs []*image.RGBA, b models.Batch, T int) float64 {
	var sum [3]float64
	var sq float64
	csum := make([][3]float64, T)
	cnt := make([]float64, T)
	n := 0.0
	for i, im := range imgs {
		for p := range b.H * b.W {
			c := b.Labels[i*b.H*b.W+p]
			if c < 0 {
				continue
			}
			for ch := range 3 {
				v := float64(im.Pix[4*p+ch]) / 255
				sum[ch] += v
				sq += v * v
				csum[c][ch] += v
			}
			cnt[c]++
			n++
		}
	}
	total := sq
	for ch := range 3 {
		total -= sum[ch] * sum[ch] / n
	}
	between := 0.0
	for c := range T {
		if cnt[c] == 0 {
			continue
		}
		for ch := range 3 {
			mu := csum[c][ch] / cnt[c]
			g := sum[ch] / n
			between += cnt[c] * (mu - g) * (mu - g)
		}
	}
	if total <= 1e-9*n {
		return 0 // one colour (up to rounding): nothing to explain
	}
	return between / total
}

// TestCATSoftFixedACollapse is the regression test of issue 14 (the CAT
// collapse): with the 64 px source on street, a soft row-stochastic A kept
// fixed (the default of `catsynth transfer` until then) lost the layout
// within 50 steps, because the generator got less than half the label
// signal it was trained on (A's rows: L2 norm 0.47, two target classes'
// source maps 0.56 apart against 1.32 for one-hot); the free layer
// initialised with A, now the default (transfer.AFree), repaired it
// (docs/TRANSFER.md, "The mechanism"). A source64 run is too slow for make
// test, and with the embedded tiny32 source at 32 px the collapse itself
// does not reproduce (its images follow a street map little even at step
// 0), so this tests the mechanism on a 60-step run of tiny32 on
// synth:street at 32 px with a soft A of the same kind (40% the true
// relation, 60% spread over the source classes: row norm 0.38, class
// distance 0.445, close to the combined estimate's):
//
//   - the default grows the label signal toward one-hot levels (row norm
//     and class distance at least 1.25x A's), while the fixed soft A keeps
//     it at A's values, which it cannot leave;
//   - the generator follows the map (label R²: the share of its images'
//     colour variance that the label map explains, on 8 held-out maps)
//     with the default: above 0.25 and at least 2x the fixed soft A's; a
//     fixed one-hot A, the control, is at least 1.3x the soft one too (the
//     line is between a soft fixed input and the others, not between
//     training A and not).
//
// Over 13 seeds (2-vCPU Xeon, load 2-4): default R² 0.40-0.60, row norm
// 0.59-0.75, class distance 0.62-0.77; fixed soft A R² 0.06-0.18; fixed
// one-hot 0.22-0.41; per seed the default was at least 2.7x and the
// one-hot control 2.2x the fixed soft A. Each arm is the mean of two
// training seeds (see run). About 20 s.
func TestCATSoftFixedACollapse(t *testing.T) {
	_, seed := testscenes.RNG(t)
	const size, steps, domain = 32, 60, "street"
	dev := testscenes.CPU()
	src, err := modelref.Source("embedded:tiny32")
	if err != nil {
		t.Fatal(err)
	}
	train, target := loadBatches(t, "synth:"+domain+":n=25,size=32", 4, size, seed, 3)
	held, _ := loadBatches(t, "synth:"+domain+":n=8,seed=1001,size=32", 8, size, 0, 1)
	soft, err := softRelation(t, domain, 0.4).Reorder(target, src.Classes())
	if err != nil {
		t.Fatal(err)
	}
	aNorm, aDist := rowSignal(soft.Flat(), len(target))
	t.Logf("soft A: row norm %.3f, class distance %.3f", aNorm, aDist)
	type result struct{ norm, dist, r2 float64 }
	// run trains one arm with two training seeds and averages its measures:
	// a single 60-step run of the default fell below the R² bound for about
	// one seed in ten (0.07-0.23 against 0.35-0.66), the spread of one run,
	// not of the mechanism.
	run := func(name string, A *affinity.Matrix, o transfer.Options) result {
		var mean result
		for _, s := range []uint64{seed, seed + 1} {
			o.Config = models.TrainConfig{BatchSize: 4, Seed: s}
			m, err := transfer.New(dev, src, target, A, o)
			if err != nil {
				t.Fatal(err)
			}
			for k := range steps {
				if _, err := m.Step(train[k%len(train)]); err != nil {
					t.Fatalf("%s step %d: %v", name, k, err)
				}
			}
			n, d := labelSignal(t, dev, m)
			r := result{n, d, labelR2(t, m, held[0], s)}
			m.Release()
			t.Logf("%s, training seed %d, after %d steps: row norm %.3f, class distance %.3f, label R² %.3f", name, s, steps, r.norm, r.dist, r.r2)
			mean.norm, mean.dist, mean.r2 = mean.norm+r.norm/2, mean.dist+r.dist/2, mean.r2+r.r2/2
		}
		return mean
	}
	def := run("default (free A)", soft, transfer.Options{})
	fixed := run("soft A fixed", soft, transfer.Options{A: transfer.AFrozen})
	onehot := run("one-hot A fixed", affinity.TopKRows(soft, 1), transfer.Options{A: transfer.AFrozen})
	if def.norm < 1.25*aNorm || def.dist < 1.25*aDist {
		t.Errorf("default: the label signal did not grow toward one-hot (norm %.3f, distance %.3f; A's %.3f, %.3f)", def.norm, def.dist, aNorm, aDist)
	}
	if math.Abs(fixed.norm-aNorm) > 1e-4 || math.Abs(fixed.dist-aDist) > 1e-4 {
		t.Errorf("fixed soft A: the label signal moved (norm %.3f, distance %.3f; A's %.3f, %.3f)", fixed.norm, fixed.dist, aNorm, aDist)
	}
	if def.r2 < 0.25 || def.r2 < 2*fixed.r2 {
		t.Errorf("default: the images follow the map too little (label R² %.3f; fixed soft A %.3f)", def.r2, fixed.r2)
	}
	if onehot.r2 < 1.3*fixed.r2 {
		t.Errorf("fixed one-hot A: label R² %.3f, not 1.3x the fixed soft A's %.3f: the test no longer shows what starves the generator", onehot.r2, fixed.r2)
	}
}

// loadBatches reads epochs epochs of a dataset spec as batches of n
// (shuffled by seed, in order for seed 0) and returns its class names.
func loadBatches(t *testing.T, spec string, n, size int, seed uint64, epochs int) ([]models.Batch, []string) {
	t.Helper()
	ds, err := dataset.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	ld, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: n, H: size, W: size, Seed: seed, Shuffle: seed != 0, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.Batch
	for e := range epochs {
		for b, err := range ld.Epoch(context.Background(), e) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, models.Batch{N: b.N, H: b.H, W: b.W, Images: b.Images, Labels: b.Labels})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no batches of %d", spec, n)
	}
	return out, dataset.ClassNames(ds.Classes())
}

// TestLabelR2: the measure of TestCATSoftFixedACollapse is 1 for images
// coloured by their class, 0 for images of one colour whatever the map,
// and low for random noise and for a picture that ignores the map (seeded
// random maps).
func TestLabelR2(t *testing.T) {
	r, _ := testscenes.RNG(t)
	const n, h, w, T = 3, 16, 16, 4
	lab := testscenes.Labels(r, n, h, w, T, 3)
	b := models.Batch{N: n, H: h, W: w, Labels: lab}
	paint := func(f func(i, p int) [3]uint8) []*image.RGBA {
		var out []*image.RGBA
		for i := range n {
			im := image.NewRGBA(image.Rect(0, 0, w, h))
			for p := range h * w {
				c := f(i, p)
				copy(im.Pix[4*p:], []uint8{c[0], c[1], c[2], 255})
			}
			out = append(out, im)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		f      func(i, p int) [3]uint8
		lo, hi float64
	}{
		{"by class", func(i, p int) [3]uint8 { c := uint8(lab[i*h*w+p]); return [3]uint8{60 * c, 255 - 50*c, 30} }, 1 - 1e-9, 1 + 1e-9},
		{"one colour", func(i, p int) [3]uint8 { return [3]uint8{90, 20, 200} }, 0, 0},
		{"noise", func(i, p int) [3]uint8 { return [3]uint8{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256))} }, 0, 0.05},
		{"stripes", func(i, p int) [3]uint8 { v := uint8(200 * ((p % w) / 4 % 2)); return [3]uint8{v, v, v} }, 0, 0.2},
	} {
		got := imagesLabelR2(paint(tc.f), b, T)
		if got < tc.lo || got > tc.hi {
			t.Errorf("%s: label R² %.4f, want in [%g, %g]", tc.name, got, tc.lo, tc.hi)
		}
	}
}
