package seg

import (
	"fmt"
	"io"
	"math"
)

// Confusion is a C x C confusion matrix: M[t*C+p] counts pixels of true class
// t predicted as p. Pixels whose truth is outside [0, C) (the dataset's
// ignore index -1, or anything else out of range) are not counted.
type Confusion struct {
	C int
	M []int64
	// Ignored counts the pixels left out because of their truth label.
	Ignored int64
}

// NewConfusion returns an empty matrix over c classes.
func NewConfusion(c int) *Confusion {
	if c < 1 {
		panic(fmt.Sprintf("seg: NewConfusion(%d)", c))
	}
	return &Confusion{C: c, M: make([]int64, c*c)}
}

// Add counts one label map pair of equal length. A prediction outside
// [0, C) is an error (a segmenter never emits one; a caller mixing class
// lists does).
func (m *Confusion) Add(pred, truth []int32) error {
	if len(pred) != len(truth) {
		return fmt.Errorf("seg: %d predicted pixels for %d labelled", len(pred), len(truth))
	}
	for i, t := range truth {
		if t < 0 || int(t) >= m.C {
			m.Ignored++
			continue
		}
		p := pred[i]
		if p < 0 || int(p) >= m.C {
			return fmt.Errorf("seg: predicted class %d outside [0,%d)", p, m.C)
		}
		m.M[int(t)*m.C+int(p)]++
	}
	return nil
}

// Merge adds o's counts to m.
func (m *Confusion) Merge(o *Confusion) {
	if o.C != m.C {
		panic(fmt.Sprintf("seg: Merge of %d and %d classes", m.C, o.C))
	}
	for i, v := range o.M {
		m.M[i] += v
	}
	m.Ignored += o.Ignored
}

// Result is the score of a confusion matrix.
type Result struct {
	// MeanIoU is the mean of IoU over the classes Present; NaN when no class
	// is present.
	MeanIoU float64 `json:"miou"`
	// PixelAccuracy is the fraction of counted pixels labelled correctly.
	PixelAccuracy float64 `json:"pixel_accuracy"`
	// IoU[c] = TP / (TP + FP + FN) of class c; NaN (JSON null) for a class
	// absent from both prediction and truth.
	IoU []float64 `json:"-"`
	// Present[c] says whether class c occurs in the truth or the prediction
	// (the classes averaged by MeanIoU).
	Present []bool `json:"-"`
	// Pixels is the number of counted pixels; Ignored the number left out.
	Pixels  int64 `json:"pixels"`
	Ignored int64 `json:"ignored_pixels"`
	// Classes names the classes when the caller knows them (for reports).
	Classes []string `json:"-"`
}

// Score computes per-class IoU and their mean. A class that appears in
// neither the truth nor the prediction has no defined IoU (0/0): it is left
// out of the mean, as the usual mIoU implementations do. A class present in
// only one of them has IoU 0 and counts.
func (m *Confusion) Score() Result {
	C := m.C
	r := Result{IoU: make([]float64, C), Present: make([]bool, C), Ignored: m.Ignored}
	rowSum := make([]int64, C)
	colSum := make([]int64, C)
	var diag int64
	for t := 0; t < C; t++ {
		for p := 0; p < C; p++ {
			v := m.M[t*C+p]
			rowSum[t] += v
			colSum[p] += v
			r.Pixels += v
		}
		diag += m.M[t*C+t]
	}
	sum, n := 0.0, 0
	for c := 0; c < C; c++ {
		tp := m.M[c*C+c]
		union := rowSum[c] + colSum[c] - tp
		if union == 0 {
			r.IoU[c] = math.NaN()
			continue
		}
		r.Present[c] = true
		r.IoU[c] = float64(tp) / float64(union)
		sum += r.IoU[c]
		n++
	}
	r.MeanIoU = math.NaN()
	if n > 0 {
		r.MeanIoU = sum / float64(n)
	}
	r.PixelAccuracy = math.NaN()
	if r.Pixels > 0 {
		r.PixelAccuracy = float64(diag) / float64(r.Pixels)
	}
	return r
}

// ClassIoU is one class's entry of Result.PerClass.
type ClassIoU struct {
	Class string `json:"class"`
	// IoU is nil for a class absent from truth and prediction.
	IoU *float64 `json:"iou"`
}

// PerClass lists every class with its IoU (nil when undefined), named by
// r.Classes when set, else "class N".
func (r Result) PerClass() []ClassIoU {
	out := make([]ClassIoU, len(r.IoU))
	for c, v := range r.IoU {
		name := fmt.Sprintf("class %d", c)
		if c < len(r.Classes) {
			name = r.Classes[c]
		}
		out[c] = ClassIoU{Class: name}
		if r.Present[c] {
			v := v
			out[c].IoU = &v
		}
	}
	return out
}

// Summary is the JSON form of a Result: the mean, pixel accuracy, counts
// and every class's IoU (null where undefined).
type Summary struct {
	MeanIoU       float64    `json:"miou"`
	PixelAccuracy float64    `json:"pixel_accuracy"`
	Pixels        int64      `json:"pixels"`
	Ignored       int64      `json:"ignored_pixels"`
	ClassesScored int        `json:"classes_scored"`
	PerClass      []ClassIoU `json:"per_class"`
}

// Summary converts r for JSON (NaN means are written as 0 with
// ClassesScored 0).
func (r Result) Summary() Summary {
	s := Summary{MeanIoU: r.MeanIoU, PixelAccuracy: r.PixelAccuracy, Pixels: r.Pixels, Ignored: r.Ignored, PerClass: r.PerClass()}
	for _, p := range r.Present {
		if p {
			s.ClassesScored++
		}
	}
	if math.IsNaN(s.MeanIoU) {
		s.MeanIoU = 0
	}
	if math.IsNaN(s.PixelAccuracy) {
		s.PixelAccuracy = 0
	}
	return s
}

// WriteTable prints the per-class IoU (undefined classes as "-"), the mean
// over the classes scored and the pixel accuracy.
func (r Result) WriteTable(w io.Writer) {
	for _, c := range r.PerClass() {
		v := "-  (absent from truth and prediction: not in the mean)"
		if c.IoU != nil {
			v = fmt.Sprintf("%.4f", *c.IoU)
		}
		fmt.Fprintf(w, "  %-16s %s\n", c.Class, v)
	}
	s := r.Summary()
	fmt.Fprintf(w, "%-18s %.4f  (mean over %d of %d classes)\n", "mIoU", s.MeanIoU, s.ClassesScored, len(r.IoU))
	fmt.Fprintf(w, "%-18s %.4f  (%d pixels, %d ignored)\n", "pixel accuracy", s.PixelAccuracy, s.Pixels, s.Ignored)
}
