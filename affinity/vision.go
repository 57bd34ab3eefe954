package affinity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"strconv"

	"catsynth/dataset"
	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// FeatureExtractor is a frozen image backbone (the paper's estimator 3; here
// MobileNetV2 from package eval, the paper used DINO-style features).
type FeatureExtractor interface {
	// Features maps images (B, 3, H, W), values in [-1, 1], to feature maps
	// (B, D, h, w), usually at a stride of 8 to 32 pixels.
	Features(images *nn.Tensor) (*nn.Tensor, error)
}

// FeatureFunc adapts a function to FeatureExtractor.
type FeatureFunc func(images *nn.Tensor) (*nn.Tensor, error)

// Features calls f.
func (f FeatureFunc) Features(images *nn.Tensor) (*nn.Tensor, error) { return f(images) }

// Prototypes are per-class mean features: Vec[c] is the mean feature of the
// pixels of class Names[c], over Pixels[c] pixels (0: the class never
// appeared, Vec[c] is nil). Source prototypes are computed once from source
// images and stored (SaveFile), so the browser needs no source images.
type Prototypes struct {
	Names  []string
	Dim    int
	Vec    [][]float64
	Pixels []float64
	// Extractor names the backbone (prototypes of different backbones do
	// not compare).
	Extractor string

	sums [][]float64
}

// NewPrototypes starts an empty accumulation for the classes names.
func NewPrototypes(names []string, extractor string) (*Prototypes, error) {
	if err := checkNames("prototype", names); err != nil {
		return nil, err
	}
	return &Prototypes{Names: append([]string(nil), names...), Extractor: extractor,
		Vec: make([][]float64, len(names)), Pixels: make([]float64, len(names)), sums: make([][]float64, len(names))}, nil
}

// Add accumulates one batch: features (B, D, h, w) and labels (B, H, W).
// Label maps are not resized down to the feature grid (small classes would
// vanish at stride 32): every labelled pixel adds the feature of the cell it
// falls in, i.e. the features are upsampled nearest to the label resolution
// and averaged under each class's mask. Labels outside [0, len(Names)) are
// ignored.
func (p *Prototypes) Add(feat []float32, b, d, h, w int, labels []int32, lh, lw int) error {
	if p.Dim == 0 {
		p.Dim = d
	}
	if d != p.Dim {
		return fmt.Errorf("affinity: features have %d channels, earlier batches had %d", d, p.Dim)
	}
	if len(feat) != b*d*h*w || len(labels) != b*lh*lw || h <= 0 || w <= 0 {
		return fmt.Errorf("affinity: prototype batch: %d features for (%d,%d,%d,%d), %d labels for (%d,%d,%d)", len(feat), b, d, h, w, len(labels), b, lh, lw)
	}
	C := len(p.Names)
	cell := make([]float64, C*h*w) // pixel count of each class in each feature cell
	for n := 0; n < b; n++ {
		clear(cell)
		for y := 0; y < lh; y++ {
			fy := y * h / lh
			for x := 0; x < lw; x++ {
				c := labels[(n*lh+y)*lw+x]
				if c < 0 || int(c) >= C {
					continue
				}
				cell[(int(c)*h+fy)*w+x*w/lw]++
			}
		}
		for c := 0; c < C; c++ {
			for i := 0; i < h*w; i++ {
				k := cell[c*h*w+i]
				if k == 0 {
					continue
				}
				if p.sums[c] == nil {
					p.sums[c] = make([]float64, d)
				}
				for j := 0; j < d; j++ {
					p.sums[c][j] += k * float64(feat[(n*d+j)*h*w+i])
				}
				p.Pixels[c] += k
			}
		}
	}
	for c := range p.Vec {
		if p.Pixels[c] > 0 {
			v := make([]float64, p.Dim)
			for j := range v {
				v[j] = p.sums[c][j] / p.Pixels[c]
			}
			p.Vec[c] = v
		}
	}
	return nil
}

// ComputePrototypes runs fx over batches (from a dataset.Loader) and
// averages the features of each class's pixels.
func ComputePrototypes(ctx context.Context, dev *nn.Device, fx FeatureExtractor, extractor string,
	batches iter.Seq2[*dataset.Batch, error], classes []string) (*Prototypes, error) {
	p, err := NewPrototypes(classes, extractor)
	if err != nil {
		return nil, err
	}
	for b, err := range batches {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, shape, err := RunOnBatch(dev, b, fx.Features, "feature extractor")
		if err != nil {
			return nil, err
		}
		if err := p.Add(data, shape[0], shape[1], shape[2], shape[3], b.Labels, b.H, b.W); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Metadata keys and tensor name of a stored prototype file.
const (
	protoTensor    = "prototypes"
	metaPixels     = "pixels"
	metaExtractor  = "extractor"
	metaProtoClass = "class_names"
)

// SaveFile stores the prototypes as safetensors (".zst" compresses): a
// tensor "prototypes" (C, D) (classes that never appeared are zero rows with
// pixel count 0), and metadata "class_names" and "pixels" (JSON arrays) and
// "extractor".
func (p *Prototypes) SaveFile(path string) error {
	if p.Dim == 0 {
		return fmt.Errorf("affinity: no prototypes to save (no batch was added)")
	}
	data := make([]float32, 0, len(p.Names)*p.Dim)
	for _, v := range p.Vec {
		for j := 0; j < p.Dim; j++ {
			if v == nil {
				data = append(data, 0)
			} else {
				data = append(data, float32(v[j]))
			}
		}
	}
	names, _ := json.Marshal(p.Names)
	pix, _ := json.Marshal(p.Pixels)
	meta := map[string]string{metaProtoClass: string(names), metaPixels: string(pix), metaExtractor: p.Extractor}
	t := safetensors.Tensor{Name: protoTensor, Shape: []int{len(p.Names), p.Dim}, Data: data}
	return safetensors.WriteFile(path, []safetensors.Tensor{t}, meta, safetensors.WriteOptions{})
}

// LoadPrototypes reads prototypes stored by SaveFile. A missing file is an
// error that says how to make one.
func LoadPrototypes(path string) (*Prototypes, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("affinity: no stored source prototypes at %s (compute them once from source images: catsynth affinity prototypes)", path)
		}
		return nil, err
	}
	return prototypesOf(f, path)
}

// DecodePrototypes is LoadPrototypes for a file in memory; name is used in
// errors.
func DecodePrototypes(data []byte, name string) (*Prototypes, error) {
	f, err := safetensors.Decode(data, name)
	if err != nil {
		return nil, err
	}
	return prototypesOf(f, name)
}

func prototypesOf(f *safetensors.File, path string) (*Prototypes, error) {
	var names []string
	var pix []float64
	if err := json.Unmarshal([]byte(f.Metadata[metaProtoClass]), &names); err != nil {
		return nil, fmt.Errorf("%s: metadata %q: %v", path, metaProtoClass, err)
	}
	if err := json.Unmarshal([]byte(f.Metadata[metaPixels]), &pix); err != nil {
		return nil, fmt.Errorf("%s: metadata %q: %v", path, metaPixels, err)
	}
	t, ok := f.Get(protoTensor)
	if !ok || len(t.Shape) != 2 || t.Shape[0] != len(names) || len(pix) != len(names) {
		return nil, fmt.Errorf("%s: want tensor %q (%d classes, D) and %d pixel counts", path, protoTensor, len(names), len(names))
	}
	p, err := NewPrototypes(names, f.Metadata[metaExtractor])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Dim, p.Pixels = t.Shape[1], pix
	for c := range names {
		if pix[c] > 0 {
			p.Vec[c] = f64(t.Data[c*p.Dim : (c+1)*p.Dim])
		}
	}
	return p, nil
}

// DefaultVisionTemperature is the softmax temperature over prototype cosine
// similarities. Not tuned yet (no backbone was available when this was
// written): features of a CNN after ReLU are non-negative, so cosines sit in
// [0, 1] and crowd near the top; 0.05 separates them about as strongly as
// the text estimator's default.
const DefaultVisionTemperature = 0.05

// VisionOptions configures VisionEstimate. Zero values: default temperature,
// softmax.
type VisionOptions struct {
	Temperature float64
	TopK        int // > 0: top-k sparsification of the cosines instead of a softmax
}

// VisionEstimate compares target prototypes (from target images) with source
// prototypes (stored): A = row softmax of the cosine similarities. Both must
// come from the same extractor. A source class without a prototype gets
// weight 0 (with a warning); a target class without one (no pixel in the
// target images, so nothing is known about it) gets a uniform row and a
// warning, as in the segmentation estimator; none with a prototype is an error.
func VisionEstimate(target, source *Prototypes, o VisionOptions) (*Matrix, []string, error) {
	if target.Dim != source.Dim {
		return nil, nil, fmt.Errorf("affinity: target prototypes have %d dimensions, source %d", target.Dim, source.Dim)
	}
	if target.Extractor != source.Extractor {
		return nil, nil, fmt.Errorf("affinity: target prototypes come from %q, source prototypes from %q", target.Extractor, source.Extractor)
	}
	var warnings []string
	for s, v := range source.Vec {
		if v == nil {
			warnings = append(warnings, fmt.Sprintf("vision: source class %q has no prototype (no pixels in the source images); it gets weight 0", source.Names[s]))
		}
	}
	if len(warnings) == len(source.Vec) {
		return nil, nil, fmt.Errorf("affinity: no source class has a prototype")
	}
	m := NewMatrix(target.Names, source.Names)
	var unknown []int // target rows without a prototype: uniform at the end
	for t, tv := range target.Vec {
		if tv == nil {
			unknown = append(unknown, t)
			warnings = append(warnings, fmt.Sprintf("vision: target class %q has no pixel in the target images, so it has no prototype; its row is uniform", target.Names[t]))
			continue
		}
		for s, sv := range source.Vec {
			if sv == nil {
				m.W[t][s] = math.Inf(-1)
				continue
			}
			m.W[t][s] = cosine(tv, sv)
		}
	}
	var out *Matrix
	var err error
	if o.TopK > 0 {
		for _, row := range m.W {
			for s := range row {
				if math.IsInf(row[s], -1) {
					row[s] = -2 // below any cosine: never kept unless k >= S
				}
			}
		}
		out, err = TopKScores(m, o.TopK)
		if err == nil {
			for _, row := range out.W {
				for s := range row {
					if source.Vec[s] == nil {
						row[s] = 0
					}
				}
			}
			normalizeRows(out.W)
			out.SetMeta("top_k", strconv.Itoa(o.TopK))
		}
	} else {
		temp := o.Temperature
		if temp == 0 {
			temp = DefaultVisionTemperature
		}
		out, err = SoftmaxRows(m, temp)
		if err == nil {
			out.SetMeta("temperature", strconv.FormatFloat(temp, 'g', -1, 64))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if len(unknown) == len(target.Vec) {
		return nil, nil, fmt.Errorf("affinity: no target class has a prototype (no labelled pixel in the target images)")
	}
	for _, t := range unknown {
		out.SetUniform(t)
	}
	out.SetMeta("method", "vision")
	out.SetMeta("extractor", source.Extractor)
	return out, warnings, nil
}
