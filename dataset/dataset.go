// Package dataset reads labelled images for semantic image synthesis: a
// folder format that users make themselves, the public layouts of ADE20K,
// Cityscapes and COCO-Stuff, and on-the-fly synthetic scenes (package
// dataset/synth). Datasets stream from disk: only file names are kept in
// memory and every sample is decoded when it is asked for. A Loader turns a
// dataset into seeded, augmented float32 batches (see loader.go).
//
// Label maps hold one class index per pixel in [0, len(Classes)) or Ignore.
package dataset

import (
	"fmt"
	"image"
	"image/color"
)

// Ignore is the label of a pixel that has no class (unlabelled, void). Losses
// and metrics skip it. Every loader maps its dataset's own void value
// (ADE20K 0, Cityscapes 255, COCO-Stuff 255, folder 255/65535) to Ignore.
const Ignore int32 = -1

// Class is one entry of a dataset's vocabulary. Color is the colour used to
// draw it in colourized label maps (and to decode RGB label files); it is
// never used for training.
type Class struct {
	Name  string
	Color color.RGBA
}

// LabelMap is a W x H map of class indices, row-major (Pix[y*W+x]); each
// value is in [0, number of classes) or Ignore.
type LabelMap struct {
	W, H int
	Pix  []int32
}

// NewLabelMap returns a w x h map filled with Ignore.
func NewLabelMap(w, h int) *LabelMap {
	m := &LabelMap{W: w, H: h, Pix: make([]int32, w*h)}
	for i := range m.Pix {
		m.Pix[i] = Ignore
	}
	return m
}

// At returns the class at (x, y).
func (m *LabelMap) At(x, y int) int32 { return m.Pix[y*m.W+x] }

// Sample is one labelled image. Image and Label have the same size. Classes is
// the dataset's vocabulary (shared, do not modify).
type Sample struct {
	Name    string
	Image   *image.RGBA
	Label   *LabelMap
	Classes []Class
}

// Dataset is an indexed collection of samples. Implementations keep only
// names in memory; Load decodes one sample and is safe to call from several
// goroutines at once.
type Dataset interface {
	// Name describes the dataset (its spec or path).
	Name() string
	// Classes is the vocabulary, in label index order.
	Classes() []Class
	// Len is the number of samples.
	Len() int
	// ItemName is the name of sample i (stable across runs: used by subsets).
	ItemName(i int) string
	// Load decodes sample i. Errors name the offending file.
	Load(i int) (*Sample, error)
}

// Skip records a file that a loader left out while listing a dataset, and why.
type Skip struct {
	Path   string
	Reason string
}

// Skipper is implemented by datasets that leave files out while listing
// (for example an image without a label map). Nothing is skipped silently:
// callers report Skipped() to the user.
type Skipper interface {
	Skipped() []Skip
}

// Skipped returns the files ds left out, or nil.
func Skipped(ds Dataset) []Skip {
	if s, ok := ds.(Skipper); ok {
		return s.Skipped()
	}
	return nil
}

// ClassNames returns the names of cs in index order.
func ClassNames(cs []Class) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// FileError is an error about one file of a dataset.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(path string, format string, args ...any) error {
	return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
}

// checkSample verifies that image and label have the same size.
func checkSample(s *Sample, labelPath string) error {
	ib := s.Image.Bounds()
	if ib.Dx() != s.Label.W || ib.Dy() != s.Label.H {
		return fileErr(labelPath, "label map is %dx%d but its image is %dx%d", s.Label.W, s.Label.H, ib.Dx(), ib.Dy())
	}
	return nil
}
