package seg

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

	"catsynth/dataset"
	"catsynth/nn"
)

// Predict labels num images (host NCHW: num x 3 x h x w values in [-1, 1])
// and returns num*h*w class indices (the arg max of the logits), row-major
// per image. h and w must be multiples of 2^(levels-1); the segmenter is
// most accurate at its training size n.Config.Size (PlaceSample resizes).
func (n *Net) Predict(images []float32, num, h, w int) ([]int32, error) {
	m := 1 << (len(n.Config.Widths) - 1)
	if num < 1 || h < m || w < m || h%m != 0 || w%m != 0 {
		return nil, fmt.Errorf("seg: predict %d images of %dx%d: need sizes that are multiples of %d", num, w, h, m)
	}
	if len(images) != num*3*h*w {
		return nil, fmt.Errorf("seg: predict: %d values for %d x 3 x %d x %d", len(images), num, h, w)
	}
	dev := n.Params.Device()
	prevTrain := n.Params.Training()
	n.Params.SetTraining(false)
	defer n.Params.SetTraining(prevTrain)
	var logits []float32
	var readErr error
	err := nn.Catch(func() {
		dev.NoGrad(func() {
			s := dev.Scope()
			defer s.Close()
			logits, readErr = n.Forward(dev.FromData(images, num, 3, h, w)).Data()
		})
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, fmt.Errorf("seg: predict: %w", err)
	}
	C, plane := n.Config.Classes, h*w
	out := make([]int32, num*plane)
	for i := 0; i < num; i++ {
		base := i * C * plane
		for p := 0; p < plane; p++ {
			best, bv := 0, logits[base+p]
			for c := 1; c < C; c++ {
				if v := logits[base+c*plane+p]; v > bv {
					best, bv = c, v
				}
			}
			out[i*plane+p] = int32(best)
		}
	}
	return out, nil
}

// Score labels every batch of loader and accumulates a confusion matrix
// against the batches' labels. progress, if set, gets (images done, total).
func (n *Net) Score(ctx context.Context, loader *dataset.Loader, total int, progress func(done, total int)) (*Confusion, error) {
	cm := NewConfusion(n.Config.Classes)
	done := 0
	for b, err := range loader.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		if b.NumClasses != n.Config.Classes {
			return nil, fmt.Errorf("seg: data has %d classes, segmenter %d", b.NumClasses, n.Config.Classes)
		}
		pred, err := n.Predict(b.Images, b.N, b.H, b.W)
		if err != nil {
			return nil, err
		}
		if err := cm.Add(pred, b.Labels); err != nil {
			return nil, err
		}
		done += b.N
		if progress != nil {
			progress(done, total)
		}
	}
	return cm, nil
}

// Evaluate scores n on every sample of ds, each centre-cropped and resized
// to n.Config.Size (bilinear/box for the image, nearest for the labels, as
// dataset.Place does), and returns the score with class names attached.
func (n *Net) Evaluate(ctx context.Context, ds dataset.Dataset, batch int, progress func(done, total int)) (Result, error) {
	l, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: batch, H: n.Config.Size, W: n.Config.Size})
	if err != nil {
		return Result{}, err
	}
	cm, err := n.Score(ctx, l, ds.Len(), progress)
	if err != nil {
		return Result{}, err
	}
	r := cm.Score()
	r.Classes = dataset.ClassNames(ds.Classes())
	return r, nil
}

// PlaceSample centre-crops and resizes s to size x size exactly as Evaluate
// does (no augmentation) and returns the image (3*size*size, CHW in [-1,1])
// and labels (size*size).
func PlaceSample(s *dataset.Sample, size int) ([]float32, []int32) {
	img := make([]float32, 3*size*size)
	lab := make([]int32, size*size)
	dataset.Place(s, dataset.Augment{}, rand.New(rand.NewPCG(0, 0)), size, size, img, lab)
	return img, lab
}

// Checkpoint metadata keys written by Save besides config and class names.
const (
	MetaKind     = "catsynth_kind" // "segmenter"
	MetaHeldOut  = "heldout_miou"  // JSON Summary of the held-out score
	MetaTraining = "training"      // JSON: how the segmenter was trained
	KindName     = "segmenter"
)

// Save writes n to path (.safetensors, or .safetensors.zst compressed),
// atomically, with its Config, class names and extra metadata. f16 halves
// the size; a segmenter loses nothing measurable from it.
func (n *Net) Save(path string, classes []string, meta map[string]string, f16 bool) error {
	if len(classes) != n.Config.Classes {
		return fmt.Errorf("seg: save %s: %d class names for %d classes", path, len(classes), n.Config.Classes)
	}
	m := map[string]string{MetaKind: KindName}
	for k, v := range meta {
		m[k] = v
	}
	return nn.SaveParams(path, n.Params.All(), nn.SaveOptions{Config: n.Config, ClassNames: classes, Metadata: m, F16: f16})
}

// Loaded is a segmenter read from a file with its metadata.
type Loaded struct {
	*Net
	Path       string
	ClassNames []string
	// HeldOut is the held-out score recorded at training time (nil if none).
	HeldOut *Summary
	// Training is the raw JSON of the training record ("" if none).
	Training string
}

// Load reads a segmenter written by Save onto dev.
func Load(dev *nn.Device, path string) (*Loaded, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return fromCheckpoint(dev, ck)
}

// LoadBytes is Load for a file in memory (the browser's fetched copy).
func LoadBytes(dev *nn.Device, data []byte, name string) (*Loaded, error) {
	ck, err := nn.DecodeCheckpoint(data, name)
	if err != nil {
		return nil, err
	}
	return fromCheckpoint(dev, ck)
}

func fromCheckpoint(dev *nn.Device, ck *nn.Checkpoint) (*Loaded, error) {
	path := ck.Path
	if k := ck.Metadata[MetaKind]; k != KindName {
		return nil, fmt.Errorf("seg: %s is not a segmenter (%s=%s)", path, MetaKind, strconv.Quote(k))
	}
	var cfg Config
	if ck.Config == nil {
		return nil, fmt.Errorf("seg: %s has no config", path)
	}
	if err := json.Unmarshal(ck.Config, &cfg); err != nil {
		return nil, fmt.Errorf("seg: %s: config: %w", path, err)
	}
	if len(ck.ClassNames) != cfg.Classes {
		return nil, fmt.Errorf("seg: %s: %d class names for %d classes", path, len(ck.ClassNames), cfg.Classes)
	}
	n, err := New(dev, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("seg: %s: %w", path, err)
	}
	if err := ck.LoadInto(n.Params.All(), nn.LoadOptions{}); err != nil {
		n.Release()
		return nil, err
	}
	l := &Loaded{Net: n, Path: path, ClassNames: ck.ClassNames, Training: ck.Metadata[MetaTraining]}
	if s, ok := ck.Metadata[MetaHeldOut]; ok {
		var sum Summary
		if err := json.Unmarshal([]byte(s), &sum); err != nil {
			n.Release()
			return nil, fmt.Errorf("seg: %s: %s: %w", path, MetaHeldOut, err)
		}
		l.HeldOut = &sum
	}
	return l, nil
}
