package transfer

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"

	"catsynth/affinity"
	"catsynth/models/gan"
)

// imgDiff is the largest per-channel difference between two image lists.
func imgDiff(a, b []*image.RGBA) int {
	d := 0
	for i := range a {
		for j := range a[i].Pix {
			v := int(a[i].Pix[j]) - int(b[i].Pix[j])
			d = max(d, v, -v)
		}
	}
	return d
}

// TestFoldIsExact: the exported T-class generator (A folded into the
// layers that read labels) makes the same images as the source network
// behind the affinity layer, for SPADE and CLADE, CAT and finetune, with
// zero and reflect padding (which the exported config keeps); and a
// different A gives different images (the check can fail).
func TestFoldIsExact(t *testing.T) {
	for _, tc := range []struct{ norm, init, padding string }{
		{gan.NormSPADE, InitCAT, ""}, {gan.NormCLADE, InitCAT, ""}, {gan.NormCLADE, InitFinetune, ""}, {gan.NormSPADE, InitScratch, ""},
		{gan.NormSPADE, InitCAT, "reflect"}, {gan.NormCLADE, InitCAT, "reflect"},
	} {
		t.Run(tc.norm+"-"+tc.init+"-"+tc.padding, func(t *testing.T) {
			r, seed := testscenes.RNG(t)
			_, src := tinySourcePadded(t, t.TempDir(), tc.norm, tc.padding, seed)
			dev := testscenes.CPU()
			A := randomA(r, tgtNames, srcNames)
			m, err := New(dev, src, tgtNames, A, Options{Init: tc.init, A: softmaxIfCAT(tc.init), Config: models.TrainConfig{Seed: seed}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			for range 2 { // so that the EMA differs from the live weights
				if _, err := m.Step(targetBatch(r, 2)); err != nil {
					t.Fatal(err)
				}
			}
			g, _, err := m.Export()
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			if len(g.Classes()) != len(tgtNames) {
				t.Fatalf("exported network has %d label channels", len(g.Classes()))
			}
			if gg, ok := g.(*gan.Generator); !ok || gg.Config.Padding != tc.padding {
				t.Fatalf("exported network %T does not keep the padding %q", g, tc.padding)
			}
			lab := blobLabels(r, 3, 16, 16, len(tgtNames))
			seeds := models.SeedRange(7, 3)
			want, err := m.Generate(lab, 16, 16, seeds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := plainGenerate(g, lab, 16, 16, seeds)
			if err != nil {
				t.Fatal(err)
			}
			if d := imgDiff(want, got); d > 1 {
				t.Errorf("folded model differs from the model behind its label map by %d levels", d)
			}
			if tc.init != InitCAT {
				return
			}
			B := randomA(r, tgtNames, srcNames)
			g2, err := Fold(dev, m.Net(), B.Flat(), tgtNames)
			if err != nil {
				t.Fatal(err)
			}
			defer g2.Release()
			other, _ := plainGenerate(g2, lab, 16, 16, seeds)
			if imgDiff(want, other) <= 1 {
				t.Error("folding another A made the same images: the fold ignores A")
			}
		})
	}
}

// TestModesTrainWhatTheySay runs a few steps of every mode and checks which
// weights moved, that losses are finite and that a trained A stays
// row-stochastic.
func TestModesTrainWhatTheySay(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		o                         Options
		gMoves, dMoves, aMoves    bool
		headOut                   int // D outputs: T+1 or S+1
		spadeMoves, spadeFrozenOK bool
	}{
		{"cat-default-freeA", Options{}, true, true, true, len(tgtNames) + 1, true, false},
		{"cat-frozenA-affhead", Options{A: AFrozen}, true, true, false, len(srcNames) + 1, true, false},
		{"cat-trainedA-reinit", Options{A: ASoftmax, Head: HeadReinit}, true, true, true, len(tgtNames) + 1, true, false},
		{"finetune", Options{Init: InitFinetune}, true, true, true, len(tgtNames) + 1, true, false},
		{"cat-freeA", Options{A: AFree}, true, true, true, len(tgtNames) + 1, true, false},
		{"scratch", Options{Init: InitScratch}, true, true, false, len(tgtNames) + 1, true, false},
		{"affinity-only", Options{Train: TrainAffinity, A: ASoftmax}, false, false, true, len(srcNames) + 1, false, true},
		{"affinity+spade", Options{Train: TrainAffinity, A: ASoftmax, TrainSPADE: true}, false, false, true, len(srcNames) + 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, seed := testscenes.RNG(t)
			_, src := tinySource(t, t.TempDir(), gan.NormSPADE, seed)
			dev := testscenes.CPU()
			tc.o.Config = models.TrainConfig{Seed: seed, BatchSize: 2}
			m, err := New(dev, src, tgtNames, randomA(r, tgtNames, srcNames), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			if got := critic(m).Config.NumClasses + 1; got != tc.headOut {
				t.Errorf("D head has %d outputs, want %d", got, tc.headOut)
			}
			snap := func() (g, d, a, sp []float32) {
				for _, p := range m.Net().Params().All() {
					v := data(t, p.T)
					switch {
					case isLabelMapParam(p.Name):
						a = append(a, v...)
					case strings.HasSuffix(p.Name, "conv_0.weight_orig") || strings.HasSuffix(p.Name, "conv_img.weight"):
						g = append(g, v...)
					case strings.Contains(p.Name, ".mlp_"):
						sp = append(sp, v...)
					}
				}
				for _, p := range critic(m).Params.Trainable() {
					d = append(d, data(t, p)...)
				}
				return
			}
			g0, d0, a0, s0 := snap()
			live := 0
			for i := range 3 {
				if i == 2 {
					live = dev.LiveBuffers()
				}
				l, err := m.Step(targetBatch(r, 2))
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []float32{l[gan.LossG], l[gan.LossDReal], l[gan.LossDFake], l[gan.LossLabelMix]} {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
						t.Fatalf("bad losses %+v", l)
					}
				}
			}
			if now := dev.LiveBuffers(); now != live {
				t.Errorf("live buffers %d -> %d in one step: a step leaks", live, now)
			}
			g1, d1, a1, s1 := snap()
			for _, c := range []struct {
				what       string
				a, b       []float32
				wantChange bool
			}{{"G convs", g0, g1, tc.gMoves}, {"D", d0, d1, tc.dMoves}, {"label map", a0, a1, tc.aMoves}, {"SPADE convs", s0, s1, tc.spadeMoves}} {
				if len(c.a) == 0 {
					if c.wantChange {
						t.Errorf("%s: no tensors found", c.what)
					}
					continue
				}
				if changed := maxDiff(c.a, c.b) > 0; changed != c.wantChange {
					t.Errorf("%s changed = %v, want %v", c.what, changed, c.wantChange)
				}
			}
			g, d := m.TrainableCount()
			t.Logf("trainable: G %d, D %d", g, d)
			if (d > 0) != tc.dMoves {
				t.Errorf("D trainable count %d", d)
			}
			if m.Layer != nil && m.Layer.Trainable() {
				A, err := m.Layer.Matrix()
				if err != nil {
					t.Fatal(err)
				}
				for i, row := range A.W {
					s := 0.0
					for _, v := range row {
						s += v
						if v < 0 {
							t.Fatalf("row %d has a negative entry", i)
						}
					}
					if math.Abs(s-1) > 1e-4 {
						t.Errorf("trained A row %d sums to %v", i, s)
					}
				}
			}
		})
	}
}

// TestFreeAStartsFromA: with AFree (the default) the input layer holds A's
// entries, so the first forward pass equals CAT's with a frozen A, and it
// then moves freely (entries may leave the simplex).
func TestFreeAStartsFromA(t *testing.T) {
	r, seed := testscenes.RNG(t)
	_, src := tinySource(t, t.TempDir(), gan.NormCLADE, seed)
	dev := testscenes.CPU()
	A := randomA(r, tgtNames, srcNames)
	build := func(o Options) *Model {
		o.Config = models.TrainConfig{Seed: seed, BatchSize: 2}
		m, err := New(dev, src, tgtNames, A, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Release)
		return m
	}
	free, frozen := build(Options{}), build(Options{A: AFrozen})
	if free.Layer != nil || free.Input == nil || free.Options.Head != HeadReinit || free.Options.A != AFree {
		t.Fatalf("default A: layer %v, input %v, head %s, A %q", free.Layer != nil, free.Input != nil, free.Options.Head, free.Options.A)
	}
	if d := maxDiff(data(t, free.Input.W), A.Flat()); d != 0 {
		t.Fatalf("input layer differs from A by %g", d)
	}
	b := targetBatch(r, 2)
	y, err := models.OneHotLabels(dev, b.Labels, 2, b.H, b.W, len(tgtNames))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(data(t, free.Tuner.Layer().Forward(y)), data(t, frozen.Tuner.Layer().Forward(y))); d > 1e-6 {
		t.Errorf("free and frozen A map labels differently before training: %g", d)
	}
	for range 3 {
		if _, err := free.Step(targetBatch(r, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if d := maxDiff(data(t, free.Input.W), A.Flat()); d == 0 {
		t.Error("the free A did not move in 3 steps")
	}
	if A2, err := free.Matrix(); err != nil || A2 != nil {
		t.Errorf("Matrix of a free A = %v, %v; want nil (it is not a distribution)", A2, err)
	}
}

// TestSaveResumeAndLoad: the model file is an ordinary generator that
// gan.LoadGenerator reads and runs on target labels; the state resumes at
// the same step with the same weights.
func TestSaveResumeAndLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{{"softmax A", Options{A: ASoftmax}}, {"free A (default)", Options{}}} {
		t.Run(tc.name, func(t *testing.T) { testSaveResumeAndLoad(t, tc.o) })
	}
}

func testSaveResumeAndLoad(t *testing.T, o Options) {
	r, seed := testscenes.RNG(t)
	dir := t.TempDir()
	_, src := tinySource(t, dir, gan.NormCLADE, seed)
	dev := testscenes.CPU()
	o.Config = models.TrainConfig{Seed: seed}
	m, err := New(dev, src, tgtNames, randomA(r, tgtNames, srcNames), o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if _, err := m.Step(targetBatch(r, 2)); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "out.safetensors.zst")
	state := StatePath(model)
	if err := m.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := m.SaveState(state, []models.Losses{{gan.LossG: 1}}); err != nil {
		t.Fatal(err)
	}
	g, err := gan.LoadGenerator(dev, model)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	lab := blobLabels(r, 2, 16, 16, len(tgtNames))
	want, _ := m.Generate(lab, 16, 16, models.SeedRange(3, 2))
	got, err := plainGenerate(g, lab, 16, 16, models.SeedRange(3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if d := imgDiff(want, got); d > 1 {
		t.Errorf("loaded model differs by %d levels", d)
	}
	bad := append([]int32(nil), lab...)
	bad[5] = int32(len(tgtNames))
	if _, err := plainGenerate(g, bad, 16, 16, models.SeedRange(3, 2)); err == nil {
		t.Error("label beyond the target classes: no error")
	}
	m2, trace, err := Resume(dev, state)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Release()
	if m2.Steps() != 1 || len(trace) != 1 {
		t.Errorf("resumed at step %d with %d losses", m2.Steps(), len(trace))
	}
	again, _ := m2.Generate(lab, 16, 16, models.SeedRange(3, 2))
	if d := imgDiff(want, again); d > 1 {
		t.Errorf("resumed model differs by %d levels", d)
	}
	if _, err := m2.Step(targetBatch(r, 2)); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: clear errors, never panics, for what a user can get wrong.
func TestBadInput(t *testing.T) {
	r, seed := testscenes.RNG(t)
	dir := t.TempDir()
	model, src := tinySource(t, dir, gan.NormSPADE, seed)
	dev := testscenes.CPU()
	A := randomA(r, tgtNames, srcNames)
	wrongShape := randomA(r, tgtNames[:3], srcNames)
	renamed := randomA(r, []string{"heaven", "lawn", "street", "lorry"}, srcNames)
	for _, tc := range []struct {
		name   string
		target []string
		A      *affinity.Matrix
		o      Options
		want   string
	}{
		{"duplicate target", []string{"a", "b", "a"}, nil, Options{Init: InitScratch}, "twice"},
		{"empty target", nil, nil, Options{Init: InitScratch}, "no target"},
		{"no A", tgtNames, nil, Options{}, "needs an affinity"},
		{"A shape", tgtNames, wrongShape, Options{}, "3 x 5"},
		{"A names", tgtNames, renamed, Options{}, "does not match"},
		{"finetune head through A", tgtNames, nil, Options{Init: InitFinetune, Head: HeadAffinity}, "no affinity matrix"},
		{"affinity-only with reinit head", tgtNames, A, Options{Train: TrainAffinity, A: ASoftmax, Head: HeadReinit}, "frozen"},
		{"affinity-only trains nothing", tgtNames, A, Options{Train: TrainAffinity, A: AFrozen}, "trains nothing"},
		{"unknown init", tgtNames, A, Options{Init: "magic"}, "init"},
		{"free A with finetune", tgtNames, A, Options{Init: InitFinetune, A: AFree}, "no affinity matrix"},
		{"unknown A", tgtNames, A, Options{A: "sharp"}, `A "sharp"`},
		{"free A with source head", tgtNames, A, Options{Head: HeadAffinity}, "use head reinit"},
		{"free A affinity-only", tgtNames, A, Options{A: AFree, Train: TrainAffinity}, "free A cannot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(dev, src, tc.target, tc.A, tc.o)
			if err == nil {
				m.Release()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			t.Log(err)
		})
	}
	t.Run("label beyond T", func(t *testing.T) {
		m, err := New(dev, src, tgtNames, A, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Release()
		b := targetBatch(r, 1)
		b.Labels[0] = int32(len(tgtNames))
		if _, err := m.Step(b); err == nil {
			t.Error("no error")
		} else {
			t.Log(err)
		}
	})
	t.Run("source without state", func(t *testing.T) {
		alone := filepath.Join(t.TempDir(), "m.safetensors.zst")
		_, err := LoadSource(alone)
		if err == nil || !strings.Contains(err.Error(), "discriminator") {
			t.Errorf("error %v", err)
		}
		if _, err := LoadSource(model); err != nil {
			t.Error(err)
		}
	})
	t.Run("NaN image", func(t *testing.T) {
		m, err := New(dev, src, tgtNames, A, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Release()
		b := targetBatch(r, 1)
		b.Images[0] = float32(math.NaN())
		if _, err := m.Step(b); !errors.Is(err, gan.ErrNonFinite) {
			t.Errorf("err %v, want ErrNonFinite", err)
		}
	})
}

// TestSegmenterDropsFake: the segmenter is the discriminator without its
// fake channel.
func TestSegmenterDropsFake(t *testing.T) {
	r, seed := testscenes.RNG(t)
	_, src := tinySource(t, t.TempDir(), gan.NormCLADE, seed)
	dev := testscenes.CPU()
	seg, err := src.Segmenter(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Release()
	s := seg.(*gan.Segmenter)
	img := labelImages(blobLabels(r, 1, 16, 16, 5), 1, 16, 16, 5)
	x := dev.FromData(img, 1, 3, 16, 16)
	out, err := s.Segment(x)
	if err != nil {
		t.Fatal(err)
	}
	full := data(t, s.D.Forward(x))
	got := data(t, out)
	if out.Dim(1) != len(srcNames) || maxDiff(got, full[16*16:]) != 0 {
		t.Errorf("segmenter output %v is not the D logits without channel 0", out.Shape())
	}
	if _, err := s.Segment(dev.FromData(make([]float32, 3*10*10), 1, 3, 10, 10)); err == nil {
		t.Error("10 px input to a 2-block D: no error")
	}
}

// TestInfiniteTemperatureRefused is the regression test for `catsynth
// transfer --train-a --temperature inf`, which panicked: Validate accepted
// +Inf and the layer refused it inside nn.Catch, which re-panics.
func TestInfiniteTemperatureRefused(t *testing.T) {
	r, seed := testscenes.RNG(t)
	_, src := tinySource(t, t.TempDir(), gan.NormCLADE, seed)
	for _, o := range []Options{{A: ASoftmax, Temperature: math.Inf(1)}, {A: ASoftmax, LRA: float32(math.Inf(1))}, {A: ASoftmax, Temperature: math.NaN()}} {
		m, err := New(testscenes.CPU(), src, tgtNames, randomA(r, tgtNames, srcNames), o)
		if err == nil {
			m.Release()
			t.Errorf("%+v: no error", o)
		} else if !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
