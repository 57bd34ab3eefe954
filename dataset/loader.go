package dataset

import (
	"context"
	"fmt"
	"image"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Augment configures the random augmentation of samples. The zero value
// means none: each sample is the largest centred crop with the output's
// aspect ratio, resized to the output size.
type Augment struct {
	// MinScale in (0, 1) turns on random crops: the crop side is a uniform
	// fraction in [MinScale, 1] of the largest crop with the output's aspect
	// ratio, at a uniform position. 0 or 1: no random crop.
	MinScale float64
	// Flip mirrors a sample left-right with probability 1/2.
	Flip bool
}

// LoaderConfig configures a Loader. H and W are required.
type LoaderConfig struct {
	BatchSize int    // samples per batch (default 1)
	H, W      int    // output size in pixels
	Seed      uint64 // seeds shuffling and augmentation
	Workers   int    // decoding goroutines (default GOMAXPROCS)
	Shuffle   bool   // a new seeded order every epoch
	DropLast  bool   // drop a last batch smaller than BatchSize
	Augment   Augment
}

// Batch is N samples laid out for a network.
//
//	Images: N*3*H*W float32, NCHW (sample, channel R G B, row, column),
//	        Images[((n*3+c)*H+y)*W+x] = pixel/127.5 - 1, in [-1, 1].
//	Labels: N*H*W int32, Labels[(n*H+y)*W+x] = class index in
//	        [0, NumClasses) or Ignore (-1).
//
// Images are resampled with a box/bilinear filter and labels with nearest
// neighbour, so labels stay valid class indices.
type Batch struct {
	N, H, W    int
	NumClasses int
	Images     []float32
	Labels     []int32
	Names      []string
	Index      []int // dataset index of each sample
}

// Loader turns a dataset into batches. The same seed, epoch and config give
// the same batches whatever the number of workers: each sample's augmentation
// is seeded by (seed, epoch, dataset index).
type Loader struct {
	ds  Dataset
	cfg LoaderConfig
	sem chan struct{}
}

// NewLoader checks cfg and returns a loader over ds.
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 1
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.BatchSize < 0:
		return nil, fmt.Errorf("dataset: batch size %d", cfg.BatchSize)
	case cfg.H <= 0 || cfg.W <= 0:
		return nil, fmt.Errorf("dataset: loader output size %dx%d", cfg.W, cfg.H)
	case cfg.Augment.MinScale < 0 || cfg.Augment.MinScale > 1:
		return nil, fmt.Errorf("dataset: crop min scale %v outside [0,1]", cfg.Augment.MinScale)
	case ds.Len() == 0:
		return nil, fmt.Errorf("dataset: %s is empty", ds.Name())
	}
	return &Loader{ds: ds, cfg: cfg, sem: make(chan struct{}, cfg.Workers)}, nil
}

// Len is the number of batches per epoch.
func (l *Loader) Len() int {
	n, b := l.ds.Len(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// order is the sample order of an epoch.
func (l *Loader) order(epoch int) []int {
	n := l.ds.Len()
	if l.cfg.Shuffle {
		r := rand.New(rand.NewPCG(l.cfg.Seed, uint64(epoch)+0x0bad5eed))
		return r.Perm(n)
	}
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

// Epoch yields the batches of one epoch in order, decoding ahead on the
// workers. It stops at the first error (a *FileError names the file) or when
// ctx is done.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		order := l.order(epoch)
		nb := l.Len()
		type result struct {
			b   *Batch
			err error
		}
		pending := make(chan chan result, 2) // batches decoded ahead
		go func() {
			defer close(pending)
			for bi := 0; bi < nb; bi++ {
				lo := bi * l.cfg.BatchSize
				hi := min(lo+l.cfg.BatchSize, len(order))
				ch := make(chan result, 1)
				select {
				case pending <- ch:
				case <-ctx.Done():
					return
				}
				go func(idx []int) {
					b, err := l.batch(ctx, epoch, idx)
					ch <- result{b, err}
				}(order[lo:hi])
			}
		}()
		for ch := range pending {
			// a ready batch and a cancelled context race in the select
			// below: cancellation wins, deterministically
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			var r result
			select {
			case r = <-ch:
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			if r.err != nil {
				yield(nil, r.err)
				return
			}
			if !yield(r.b, nil) {
				return
			}
		}
		// our own cancel runs only on return: an error here is the caller's
		// context ending while the producer stopped early
		if err := ctx.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// batch decodes and augments the samples idx into one batch.
func (l *Loader) batch(ctx context.Context, epoch int, idx []int) (*Batch, error) {
	H, W := l.cfg.H, l.cfg.W
	b := &Batch{N: len(idx), H: H, W: W, NumClasses: len(l.ds.Classes()),
		Images: make([]float32, len(idx)*3*H*W), Labels: make([]int32, len(idx)*H*W),
		Names: make([]string, len(idx)), Index: append([]int(nil), idx...)}
	var wg sync.WaitGroup
	errs := make([]error, len(idx))
	for j, di := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case l.sem <- struct{}{}:
			case <-ctx.Done():
				errs[j] = ctx.Err()
				return
			}
			defer func() { <-l.sem }()
			s, err := l.ds.Load(di)
			if err != nil {
				errs[j] = err
				return
			}
			r := rand.New(rand.NewPCG(l.cfg.Seed^0xa076a0b1, uint64(epoch)<<32^uint64(di)))
			b.Names[j] = s.Name
			Place(s, l.cfg.Augment, r, H, W, b.Images[j*3*H*W:(j+1)*3*H*W], b.Labels[j*H*W:(j+1)*H*W])
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return b, nil
}

// Place crops, flips and resizes sample s into img (3*H*W, CHW in [-1,1])
// and lab (H*W) as described by aug, drawing its random choices from r.
func Place(s *Sample, aug Augment, r *rand.Rand, H, W int, img []float32, lab []int32) {
	iw, ih := s.Label.W, s.Label.H
	aspect := float64(W) / float64(H)
	cw, ch := float64(iw), float64(ih)
	if cw/ch > aspect {
		cw = ch * aspect
	} else {
		ch = cw / aspect
	}
	x0, y0 := (float64(iw)-cw)/2, (float64(ih)-ch)/2
	if aug.MinScale > 0 && aug.MinScale < 1 {
		sc := aug.MinScale + (1-aug.MinScale)*r.Float64()
		cw, ch = cw*sc, ch*sc
		x0 = r.Float64() * (float64(iw) - cw)
		y0 = r.Float64() * (float64(ih) - ch)
	}
	flip := aug.Flip && r.IntN(2) == 1
	sx, sy := cw/float64(W), ch/float64(H)
	// box filter footprint when shrinking by more than 2
	taps := int(math.Ceil(math.Max(sx, sy)))
	if taps > 8 {
		taps = 8
	}
	pix := s.Image
	plane := H * W
	for oy := 0; oy < H; oy++ {
		fy := y0 + (float64(oy)+0.5)*sy
		ly := clampInt(int(fy), 0, ih-1)
		for ox := 0; ox < W; ox++ {
			dx := ox
			if flip {
				dx = W - 1 - ox
			}
			fx := x0 + (float64(ox)+0.5)*sx
			lx := clampInt(int(fx), 0, iw-1)
			lab[oy*W+dx] = s.Label.Pix[ly*iw+lx]
			var c [3]float64
			if taps <= 2 {
				c = bilinear(pix, fx-0.5, fy-0.5)
			} else {
				n := 0
				for ty := 0; ty < taps; ty++ {
					py := clampInt(int(fy-sy/2+(float64(ty)+0.5)*sy/float64(taps)), 0, ih-1)
					for tx := 0; tx < taps; tx++ {
						px := clampInt(int(fx-sx/2+(float64(tx)+0.5)*sx/float64(taps)), 0, iw-1)
						o := py*pix.Stride + 4*px
						c[0] += float64(pix.Pix[o])
						c[1] += float64(pix.Pix[o+1])
						c[2] += float64(pix.Pix[o+2])
						n++
					}
				}
				for k := range c {
					c[k] /= float64(n)
				}
			}
			for k := 0; k < 3; k++ {
				img[k*plane+oy*W+dx] = float32(c[k]/127.5 - 1)
			}
		}
	}
}

func bilinear(p *image.RGBA, x, y float64) [3]float64 {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	x1, y1 := clampInt(x0+1, 0, w-1), clampInt(y0+1, 0, h-1)
	x0, y0 = clampInt(x0, 0, w-1), clampInt(y0, 0, h-1)
	var c [3]float64
	for k := 0; k < 3; k++ {
		a := float64(p.Pix[y0*p.Stride+4*x0+k])
		b := float64(p.Pix[y0*p.Stride+4*x1+k])
		cc := float64(p.Pix[y1*p.Stride+4*x0+k])
		d := float64(p.Pix[y1*p.Stride+4*x1+k])
		c[k] = (a*(1-fx)+b*fx)*(1-fy) + (cc*(1-fx)+d*fx)*fy
	}
	return c
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// BatchImage converts sample n of b back to an RGBA image (for previews).
func (b *Batch) BatchImage(n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, b.W, b.H))
	plane := b.H * b.W
	base := n * 3 * plane
	for i := 0; i < plane; i++ {
		for k := 0; k < 3; k++ {
			v := (b.Images[base+k*plane+i] + 1) * 127.5
			img.Pix[4*i+k] = uint8(math.Max(0, math.Min(255, float64(v)+0.5)))
		}
		img.Pix[4*i+3] = 255
	}
	return img
}

// BatchLabel returns the label map of sample n of b.
func (b *Batch) BatchLabel(n int) *LabelMap {
	plane := b.H * b.W
	return &LabelMap{W: b.W, H: b.H, Pix: append([]int32(nil), b.Labels[n*plane:(n+1)*plane]...)}
}

// OneHot returns the labels of b one-hot encoded as float32 N*C*H*W (NCHW,
// C = NumClasses): channel c of a pixel is 1 where its label is c; an Ignore
// pixel is all zeros. This is the semantic input of the generators.
func (b *Batch) OneHot() []float32 {
	C, plane := b.NumClasses, b.H*b.W
	out := make([]float32, b.N*C*plane)
	for n := 0; n < b.N; n++ {
		for i, v := range b.Labels[n*plane : (n+1)*plane] {
			if v >= 0 {
				out[(n*C+int(v))*plane+i] = 1
			}
		}
	}
	return out
}
