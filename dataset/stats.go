package dataset

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Stats summarizes a dataset: counts, image sizes and a class histogram.
type Stats struct {
	Name      string
	Samples   int            // samples read
	Skipped   []Skip         // files the loader left out
	Sizes     map[[2]int]int // image size (W, H) -> count
	Pixels    []int64        // labelled pixels per class
	Images    []int          // images containing each class
	IgnorePix int64          // pixels labelled Ignore
	Classes   []Class
}

// ComputeStats reads up to limit samples of ds (all when limit <= 0) and
// counts their sizes and classes. progress, if not nil, is called after each
// sample. Reading stops at the first error.
func ComputeStats(ctx context.Context, ds Dataset, limit int, progress func(done, total int)) (*Stats, error) {
	n := ds.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	cs := ds.Classes()
	st := &Stats{Name: ds.Name(), Skipped: Skipped(ds), Sizes: map[[2]int]int{},
		Pixels: make([]int64, len(cs)), Images: make([]int, len(cs)), Classes: cs}
	seen := make([]bool, len(cs))
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		s, err := ds.Load(i)
		if err != nil {
			return st, err
		}
		st.Samples++
		st.Sizes[[2]int{s.Label.W, s.Label.H}]++
		clear(seen)
		for _, v := range s.Label.Pix {
			if v == Ignore {
				st.IgnorePix++
				continue
			}
			st.Pixels[v]++
			seen[v] = true
		}
		for c, ok := range seen {
			if ok {
				st.Images[c]++
			}
		}
		if progress != nil {
			progress(i+1, n)
		}
	}
	return st, nil
}

// Write prints the statistics as text: counts, sizes and the class
// histogram of the classes present (WriteAll lists absent ones too).
func (st *Stats) Write(w io.Writer) { st.write(w, false) }

// WriteAll is Write with every class of the vocabulary, present or not.
func (st *Stats) WriteAll(w io.Writer) { st.write(w, true) }

// write prints the statistics as text: counts, sizes and the class
// histogram (classes that never occur included, so gaps are visible).
func (st *Stats) write(w io.Writer, all bool) {
	fmt.Fprintf(w, "dataset   %s\nsamples   %d read\nclasses   %d\n", st.Name, st.Samples, len(st.Classes))
	fmt.Fprintf(w, "skipped   %s\n", DescribeSkips(st.Skipped))
	for i, s := range st.Skipped {
		if i == 10 {
			fmt.Fprintf(w, "          ... %d more\n", len(st.Skipped)-10)
			break
		}
		fmt.Fprintf(w, "          %s: %s\n", s.Path, s.Reason)
	}
	type sz struct {
		wh [2]int
		n  int
	}
	var sizes []sz
	for k, v := range st.Sizes {
		sizes = append(sizes, sz{k, v})
	}
	sort.Slice(sizes, func(i, j int) bool {
		if sizes[i].n != sizes[j].n {
			return sizes[i].n > sizes[j].n
		}
		return sizes[i].wh[0]*10000+sizes[i].wh[1] < sizes[j].wh[0]*10000+sizes[j].wh[1]
	})
	fmt.Fprintf(w, "sizes     %d distinct:", len(sizes))
	for i, s := range sizes {
		if i == 5 {
			fmt.Fprint(w, " ...")
			break
		}
		fmt.Fprintf(w, " %dx%d (%d)", s.wh[0], s.wh[1], s.n)
	}
	fmt.Fprintln(w)
	var total int64 = st.IgnorePix
	for _, p := range st.Pixels {
		total += p
	}
	if total == 0 {
		total = 1
	}
	fmt.Fprintf(w, "\n%4s  %-22s %8s %7s  %s\n", "id", "class", "pixels%", "images", "")
	absent := 0
	for c, cl := range st.Classes {
		if !all && st.Images[c] == 0 {
			absent++
			continue
		}
		pct := 100 * float64(st.Pixels[c]) / float64(total)
		bar := strings.Repeat("#", int(pct/2+0.5))
		fmt.Fprintf(w, "%4d  %-22s %8.3f %7d  %s\n", c, cl.Name, pct, st.Images[c], bar)
	}
	fmt.Fprintf(w, "%4s  %-22s %8.3f\n", "-", "(ignore)", 100*float64(st.IgnorePix)/float64(total))
	if absent > 0 {
		fmt.Fprintf(w, "(%d of %d classes do not occur in the samples read; --all lists them)\n", absent, len(st.Classes))
	}
}

// Grid draws up to n samples of ds as rows of (image | colourized labels),
// cols pairs per row, each tile resized to tile x tile pixels.
func Grid(ds Dataset, n, cols, tile int) (*image.RGBA, error) {
	if n > ds.Len() {
		n = ds.Len()
	}
	if n <= 0 || cols <= 0 || tile <= 0 {
		return nil, fmt.Errorf("dataset: grid of %d samples, %d columns, tile %d", n, cols, tile)
	}
	if cols > n {
		cols = n
	}
	rows := (n + cols - 1) / cols
	gap := 2
	pw := 2*tile + gap
	g := image.NewRGBA(image.Rect(0, 0, cols*(pw+gap*2)-gap*2, rows*(tile+gap)-gap))
	draw.Draw(g, g.Bounds(), image.NewUniform(color.RGBA{255, 255, 255, 255}), image.Point{}, draw.Src)
	img := make([]float32, 3*tile*tile)
	lab := make([]int32, tile*tile)
	for i := 0; i < n; i++ {
		s, err := ds.Load(i)
		if err != nil {
			return nil, err
		}
		Place(s, Augment{}, nil, tile, tile, img, lab)
		b := &Batch{N: 1, H: tile, W: tile, Images: img, Labels: lab}
		x := (i % cols) * (pw + gap*2)
		y := (i / cols) * (tile + gap)
		draw.Draw(g, image.Rect(x, y, x+tile, y+tile), b.BatchImage(0), image.Point{}, draw.Src)
		draw.Draw(g, image.Rect(x+tile+gap, y, x+pw, y+tile), Colorize(b.BatchLabel(0), s.Classes), image.Point{}, draw.Src)
	}
	return g, nil
}

// WriteFolder writes the first n samples of ds (all when n <= 0) in the
// folder format (images/NAME.png, labels/NAME.png, classes.txt) under dir,
// decoding (or rendering) on workers goroutines (default GOMAXPROCS).
// progress, if not nil, is called after each sample, from one goroutine.
func WriteFolder(ctx context.Context, dir string, ds Dataset, n, workers int, progress func(done, total int)) error {
	if n <= 0 || n > ds.Len() {
		n = ds.Len()
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, sub := range []string{"images", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	if err := WriteClassesFile(filepath.Join(dir, "classes.txt"), ds.Classes()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	done := make(chan error, n) // never blocks a worker after an early return
	for w := 0; w < workers; w++ {
		go func() {
			for i := range jobs {
				s, err := ds.Load(i)
				if err == nil {
					err = writeSample(dir, s, len(ds.Classes()))
				}
				done <- err
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for k := 0; k < n; k++ {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if progress != nil {
			progress(k+1, n)
		}
	}
	return nil
}

func writeSample(dir string, s *Sample, numClasses int) error {
	lb, err := EncodeLabel(s.Label, numClasses)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "labels", s.Name+".png"), lb, 0o644); err != nil {
		return err
	}
	return WritePNG(filepath.Join(dir, "images", s.Name+".png"), s.Image)
}
