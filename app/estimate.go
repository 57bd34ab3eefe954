package app

import (
	"context"
	"fmt"

	"catsynth/affinity"
	"catsynth/backbone"
	"catsynth/dataset"
	"catsynth/eval/seg"
	"catsynth/nn"
)

// Kinds of the assets the server offers under /models/ (Asset.Kind) besides
// generator models ("gan"): the inputs of the page's affinity estimators.
const (
	KindGlove      = "glove"      // word-vector table (text estimator)
	KindBackbone   = "backbone"   // frozen feature network (vision estimator)
	KindPrototypes = "prototypes" // a model's stored source prototypes (vision), served as MODEL.prototypes
	KindSegmenter  = "segmenter"  // a source-class segmenter (segmentation estimator)
)

// Estimator methods of Session.Estimate (affinity's).
const (
	MethodText     = affinity.MethodText
	MethodVision   = affinity.MethodVision
	MethodSeg      = affinity.MethodSeg
	MethodCombined = affinity.MethodCombined
)

// estimateBatch is how many target images go through a network at once.
const estimateBatch = 4

// estimators holds the loaded inputs of the estimators. They outlive a
// model change (the feature network and segmenter do not depend on it);
// prototypes and segmenter classes are checked against the model's classes
// when used.
type estimators struct {
	table    *affinity.Embeddings
	features affinity.FeatureExtractor
	net      *backbone.Net
	extName  string
	extSize  int
	protos   *affinity.Prototypes
	seg      *seg.Loaded
}

func (e *estimators) release() {
	if e.net != nil {
		e.net.Release()
	}
	if e.seg != nil {
		e.seg.Release()
	}
	*e = estimators{}
}

// LoadAsset loads an estimator input the page fetched (kind is one of the
// Kind* constants; name is used in messages). Loading a kind again
// replaces it (prototypes change with the model).
func (s *Session) LoadAsset(kind string, data []byte, name string) error {
	if len(data) == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	e := &s.est
	switch kind {
	case KindGlove:
		t, err := affinity.DecodeTable(data, name)
		if err != nil {
			return err
		}
		e.table = t
	case KindBackbone:
		net, err := backbone.LoadBytes(s.Dev, data, name)
		if err != nil {
			return err
		}
		fx, ext, size, err := affinity.BackboneFeatures(net)
		if err != nil {
			net.Release()
			return err
		}
		if e.net != nil {
			e.net.Release()
		}
		e.net, e.features, e.extName, e.extSize = net, fx, ext, size
	case KindPrototypes:
		p, err := affinity.DecodePrototypes(data, name)
		if err != nil {
			return err
		}
		e.protos = p
	case KindSegmenter:
		l, err := seg.LoadBytes(s.Dev, data, name)
		if err != nil {
			return err
		}
		if e.seg != nil {
			e.seg.Release()
		}
		e.seg = l
	default:
		return fmt.Errorf("unknown estimator asset kind %q (want %s, %s, %s or %s)", kind, KindGlove, KindBackbone, KindPrototypes, KindSegmenter)
	}
	return nil
}

// HasAsset says whether an asset of kind is loaded, so the page sends each
// file once.
func (s *Session) HasAsset(kind string) bool {
	e := &s.est
	switch kind {
	case KindGlove:
		return e.table != nil
	case KindBackbone:
		return e.net != nil
	case KindPrototypes:
		return e.protos != nil
	case KindSegmenter:
		return e.seg != nil
	}
	return false
}

// Estimate estimates A with one method and makes it the session's matrix:
// text (class names), vision (feature prototypes of the dropped images
// against the model's stored source prototypes), seg (the source segmenter
// run on the dropped images) or combined (the mean of those whose inputs
// are loaded; the others are named in the warnings).
func (s *Session) Estimate(method string) (MatrixInfo, error) {
	if _, _, err := s.names(); err != nil {
		return MatrixInfo{}, err
	}
	run := map[string]affinity.EstimateFunc{
		MethodText:   func(context.Context) (*affinity.Matrix, []string, error) { return s.textMatrix() },
		MethodVision: func(context.Context) (*affinity.Matrix, []string, error) { return s.visionMatrix() },
		MethodSeg:    func(context.Context) (*affinity.Matrix, []string, error) { return s.segMatrix() },
	}
	m, warnings, err := affinity.Estimate(context.Background(), method, run, affinity.EstimateOptions{})
	if err != nil {
		return MatrixInfo{}, err
	}
	return s.setMatrix(m, warnings)
}

// textMatrix: a target name with a word the table lacks gets a uniform row
// and a warning naming the word.
func (s *Session) textMatrix() (*affinity.Matrix, []string, error) {
	target, source, err := s.names()
	if err != nil {
		return nil, nil, err
	}
	if s.est.table == nil {
		return nil, nil, affinity.Unavailable("the word-vector table is not loaded")
	}
	return affinity.TextRows(s.est.table, target, source, affinity.TextOptions{})
}

// visionMatrix compares the prototypes of the dropped images (masked means
// of the feature network's last spatial map) with the model's stored source
// prototypes. A target class with no labelled pixel gets a uniform row and
// a warning.
func (s *Session) visionMatrix() (*affinity.Matrix, []string, error) {
	target, source, err := s.names()
	if err != nil {
		return nil, nil, err
	}
	e := &s.est
	switch {
	case e.net == nil:
		return nil, nil, affinity.Unavailable("the feature network is not loaded")
	case e.protos == nil:
		return nil, nil, affinity.Unavailable("this model has no stored source prototypes")
	case e.protos.Extractor != e.extName:
		return nil, nil, fmt.Errorf("the stored prototypes come from %q, the loaded feature network is %q", e.protos.Extractor, e.extName)
	}
	if err := affinity.NewMatrix(nil, e.protos.Names).CheckClasses(nil, source); err != nil {
		return nil, nil, fmt.Errorf("the stored prototypes are for other classes than this model's: %v", err)
	}
	tp, err := affinity.NewPrototypes(target, e.extName)
	if err != nil {
		return nil, nil, err
	}
	err = s.eachTargetBatch(e.extSize, e.features.Features, func(out []float32, shape []int, labels []int32, lh, lw int) error {
		return tp.Add(out, shape[0], shape[1], shape[2], shape[3], labels, lh, lw)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vision: %w", err)
	}
	m, warnings, err := affinity.VisionEstimate(tp, e.protos, affinity.VisionOptions{})
	if err != nil {
		return nil, nil, err
	}
	m, err = m.Reorder(target, source)
	return m, warnings, err
}

// segMatrix runs the source segmenter on the dropped images (resized to
// its training size) and counts, per target class, the source classes it
// predicts under that class's pixels.
func (s *Session) segMatrix() (*affinity.Matrix, []string, error) {
	target, source, err := s.names()
	if err != nil {
		return nil, nil, err
	}
	sg := s.est.seg
	if sg == nil {
		return nil, nil, affinity.Unavailable("the source segmenter is not loaded")
	}
	if err := affinity.NewMatrix(nil, sg.ClassNames).CheckClasses(nil, source); err != nil {
		return nil, nil, fmt.Errorf("the segmenter knows other classes than this model: %v", err)
	}
	counter, err := affinity.NewSegCounter(target, sg.ClassNames, affinity.SegOptions{})
	if err != nil {
		return nil, nil, err
	}
	logits := func(x *nn.Tensor) (*nn.Tensor, error) { return sg.Forward(x), nil }
	err = s.eachTargetBatch(sg.Config.Size, logits, func(out []float32, shape []int, labels []int32, lh, lw int) error {
		return counter.Add(out, shape[0], shape[1], shape[2], shape[3], labels, lh, lw)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("segmentation: %w", err)
	}
	m, warnings, err := counter.Matrix()
	if err != nil {
		return nil, nil, err
	}
	m, err = m.Reorder(target, source)
	return m, warnings, err
}

// eachTargetBatch runs f on the target images, estimateBatch at a time,
// (their detailed copies) resized to size x size, and hands each output (B, C, h, w) with the
// batch's label maps (at the model's size) to use.
func (s *Session) eachTargetBatch(size int, f func(*nn.Tensor) (*nn.Tensor, error),
	use func(out []float32, shape []int, labels []int32, lh, lw int) error) error {
	pairs := s.target.Pairs
	if len(pairs) == 0 {
		return fmt.Errorf("no target images yet")
	}
	for lo := 0; lo < len(pairs); lo += estimateBatch {
		hi := min(lo+estimateBatch, len(pairs))
		var img []float32
		var labels []int32
		for _, p := range pairs[lo:hi] {
			img = append(img, dataset.ResizePlanar(p.Detail, 3, p.DetailH, p.DetailW, size, size)...)
			labels = append(labels, p.Labels...)
		}
		batch := &dataset.Batch{N: hi - lo, H: size, W: size, Images: img}
		out, shape, err := affinity.RunOnBatch(s.Dev, batch, f, "estimator network")
		if err == nil {
			err = use(out, shape, labels, s.h, s.w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
