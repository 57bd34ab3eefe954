package dataset

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func collect(t *testing.T, l *Loader, epoch int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestLoaderDeterministic: the same seed gives the same batches whatever the
// worker count; another epoch gives another order.
func TestLoaderDeterministic(t *testing.T) {
	ds, err := Open("synth:source:n=10,size=24,seed=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg := LoaderConfig{BatchSize: 4, H: 16, W: 20, Seed: 9, Shuffle: true, Augment: Augment{MinScale: 0.5, Flip: true}}
	t.Logf("seed %d", cfg.Seed)
	cfg.Workers = 1
	l1, _ := NewLoader(ds, cfg)
	cfg.Workers = 4
	l4, _ := NewLoader(ds, cfg)
	a, b := collect(t, l1, 0), collect(t, l4, 0)
	if len(a) != 3 || a[2].N != 2 || l1.Len() != 3 {
		t.Fatalf("%d batches, last has %d, Len %d", len(a), a[len(a)-1].N, l1.Len())
	}
	for i := range a {
		if !slices.Equal(a[i].Images, b[i].Images) || !slices.Equal(a[i].Labels, b[i].Labels) || !slices.Equal(a[i].Names, b[i].Names) {
			t.Fatalf("batch %d differs between 1 and 4 workers", i)
		}
	}
	c := collect(t, l1, 1)
	if slices.Equal(a[0].Index, c[0].Index) && slices.Equal(a[1].Index, c[1].Index) {
		t.Error("epochs 0 and 1 have the same order")
	}
	cfg.DropLast = true
	ld, _ := NewLoader(ds, cfg)
	if got := collect(t, ld, 0); len(got) != 2 {
		t.Errorf("DropLast: %d batches, want 2", len(got))
	}
}

// TestPlaceLayout checks the NCHW layout, the [-1,1] range, nearest labels
// and the flip against a known image.
func TestPlaceLayout(t *testing.T) {
	dir := t.TempDir()
	makeFolder(t, dir, 1, 6, 6) // one PNG sample: labels x%3, (0,0) ignored
	ds, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ds.Load(0)
	for _, flip := range []bool{false, true} {
		img := make([]float32, 3*6*6)
		lab := make([]int32, 6*6)
		// MinScale 0 and Flip forced through a one-sided rand: use Place's contract
		Place(s, Augment{}, nil, 6, 6, img, lab)
		if flip {
			flipH(img, lab, 6, 6)
		}
		for y := 0; y < 6; y++ {
			for x := 0; x < 6; x++ {
				sx := x
				if flip {
					sx = 5 - x
				}
				want := s.Label.At(sx, y)
				if lab[y*6+x] != want {
					t.Fatalf("flip %v: label(%d,%d) = %d, want %d", flip, x, y, lab[y*6+x], want)
				}
				o := s.Image.PixOffset(sx, y)
				for c := 0; c < 3; c++ {
					want := float64(s.Image.Pix[o+c])/127.5 - 1
					if got := float64(img[(c*6+y)*6+x]); math.Abs(got-want) > 1e-5 {
						t.Fatalf("pixel (%d,%d,c%d) = %v, want %v", x, y, c, got, want)
					}
				}
			}
		}
	}
	// shrinking: labels stay valid classes or Ignore, images stay in range
	ds2, _ := Open("synth:street:n=2,size=100")
	l, _ := NewLoader(ds2, LoaderConfig{BatchSize: 2, H: 13, W: 17, Augment: Augment{MinScale: 0.3, Flip: true}})
	for _, b := range collect(t, l, 0) {
		for _, v := range b.Images {
			if v < -1 || v > 1 {
				t.Fatalf("image value %v outside [-1,1]", v)
			}
		}
		for _, v := range b.Labels {
			if v != Ignore && (v < 0 || int(v) >= b.NumClasses) {
				t.Fatalf("label %d", v)
			}
		}
	}
}

// flipH mirrors a CHW image and a label map in place (test reference).
func flipH(img []float32, lab []int32, h, w int) {
	for y := 0; y < h; y++ {
		slices.Reverse(lab[y*w : (y+1)*w])
		for c := 0; c < 3; c++ {
			slices.Reverse(img[(c*h+y)*w : (c*h+y+1)*w])
		}
	}
}

// TestLoaderFlipMatchesReference: a batch with Flip on equals the mirrored
// unflipped sample or the sample itself, and both occur.
func TestLoaderFlipMatchesReference(t *testing.T) {
	ds, _ := Open("synth:alpine:n=16,size=20")
	plain, _ := NewLoader(ds, LoaderConfig{BatchSize: 16, H: 20, W: 20})
	flip, _ := NewLoader(ds, LoaderConfig{BatchSize: 16, H: 20, W: 20, Seed: 3, Augment: Augment{Flip: true}})
	p, f := collect(t, plain, 0)[0], collect(t, flip, 0)[0]
	flipped := 0
	for n := 0; n < 16; n++ {
		pi := slices.Clone(p.Images[n*1200 : (n+1)*1200])
		pl := slices.Clone(p.Labels[n*400 : (n+1)*400])
		fi, fl := f.Images[n*1200:(n+1)*1200], f.Labels[n*400:(n+1)*400]
		if slices.Equal(pi, fi) && slices.Equal(pl, fl) {
			continue
		}
		flipH(pi, pl, 20, 20)
		if !slices.Equal(pi, fi) || !slices.Equal(pl, fl) {
			t.Fatalf("sample %d is neither the original nor its mirror", n)
		}
		flipped++
	}
	if flipped == 0 || flipped == 16 {
		t.Errorf("%d of 16 samples flipped", flipped)
	}
}

func TestLoaderErrors(t *testing.T) {
	dir := t.TempDir()
	makeFolder(t, dir, 3, 4, 4)
	writeFile(t, filepath.Join(dir, "labels", "bimg.png"), []byte("broken"))
	ds, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 1, H: 4, W: 4})
	var got error
	n := 0
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			got = err
			break
		}
		n += b.N
	}
	var fe *FileError
	if !errors.As(got, &fe) || !strings.HasSuffix(fe.Path, "bimg.png") || n != 1 {
		t.Errorf("error %v after %d samples, want a FileError naming bimg.png after 1", got, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range l.Epoch(ctx, 0) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: %v", err)
		}
		break
	}
	for _, cfg := range []LoaderConfig{{H: 0, W: 4}, {H: 4, W: 4, BatchSize: -1}, {H: 4, W: 4, Augment: Augment{MinScale: 2}}} {
		if _, err := NewLoader(ds, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func BenchmarkLoaderSynth(b *testing.B) {
	ds, _ := Open("synth:source:n=64,size=128")
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 16, H: 128, W: 128, Augment: Augment{MinScale: 0.6, Flip: true}})
	n := 0
	for i := 0; i < b.N; i++ {
		for bt, err := range l.Epoch(context.Background(), i) {
			if err != nil {
				b.Fatal(err)
			}
			n += bt.N
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}

func TestOneHot(t *testing.T) {
	b := &Batch{N: 2, H: 1, W: 3, NumClasses: 3, Labels: []int32{0, 2, Ignore, 1, 1, 0}}
	got := b.OneHot()
	want := []float32{
		1, 0, 0, 0, 0, 0, 0, 1, 0, // sample 0: channels 0, 1, 2
		0, 0, 1, 1, 1, 0, 0, 0, 0, // sample 1
	}
	if !slices.Equal(got, want) {
		t.Errorf("OneHot = %v, want %v", got, want)
	}
}

// BenchmarkLoaderFolder reads 128x128 PNG pairs from disk (written by the
// benchmark) into batches of 16.
func BenchmarkLoaderFolder(b *testing.B) {
	dir := b.TempDir()
	src, _ := Open("synth:street:n=64,size=128")
	if err := WriteFolder(context.Background(), dir, src, 0, 0, nil); err != nil {
		b.Fatal(err)
	}
	ds, err := OpenFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 16, H: 128, W: 128, Shuffle: true, Augment: Augment{MinScale: 0.6, Flip: true}})
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for bt, err := range l.Epoch(context.Background(), i) {
			if err != nil {
				b.Fatal(err)
			}
			n += bt.N
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}
