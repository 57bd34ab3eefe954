package affinity

import (
	"fmt"
	"math"
	"math/rand/v2"

	"catsynth/models"

	"catsynth/nn"
)

// ParamPrefix is the conventional Params prefix of the affinity layer:
// build it with NewLayer(ps.Sub(affinity.ParamPrefix), ...) so its tensors
// are saved as "affinity.weight" (frozen) or "affinity.logits" (trained).
const ParamPrefix = "affinity"

// LogitEps is added to A before the log when a trainable layer's logits are
// initialised, so zero entries get a finite (very negative) logit and can
// still grow. The initial softmax is (A + eps) / (1 + S*eps), which differs
// from A by at most S*eps per entry.
const LogitEps = 1e-6

// LayerOptions configures NewLayer. The zero value is a frozen layer.
type LayerOptions struct {
	// Train makes A a trainable row-softmax of logits.
	Train bool
	// Temperature divides the logits before the softmax (0 means 1). A
	// larger temperature makes the logits' gradients smaller and the
	// softmax easier to move away from a sharp A.
	Temperature float64
}

// Layer is the class affinity layer (docs/AFFINITY.md): it turns a target label map
// (B, T, H, W) (one-hot, or any per-pixel mixture of target classes) into a
// soft source map (B, S, H, W), y_s[b,s,h,w] = sum_t y_t[b,t,h,w] * A[t,s]:
// a bias-free 1x1 convolution with weight A^T, computed as one batched matmul
// A^T (S, T) @ y_t (B, T, H*W).
//
// Frozen, A is a non-trainable buffer "weight" (T, S). Trained, the layer
// holds logits "logits" (T, S) and A = softmax(logits / Temperature) over
// source classes, so every row stays a distribution while it trains; logits
// start at Temperature * log(A + LogitEps), whose softmax is A up to eps.
type Layer struct {
	Target, Source []string
	temp           float32
	weight         *nn.Tensor // frozen A, or nil
	logits         *nn.Tensor // trainable logits, or nil
}

// NewLayer registers the layer's tensor in ps (use ps.Sub(ParamPrefix)) and
// initialises it from m, which must be valid (see Validate).
func NewLayer(ps *nn.Params, m *Matrix, o LayerOptions) (*Layer, error) {
	m = m.Clone()
	if _, err := m.Validate(); err != nil {
		return nil, err
	}
	temp := o.Temperature
	if temp == 0 {
		temp = 1
	}
	if !(temp > 0) || math.IsInf(temp, 0) {
		return nil, fmt.Errorf("affinity: layer temperature %v must be a positive number", o.Temperature)
	}
	l := &Layer{Target: m.Target, Source: m.Source, temp: float32(temp)}
	T, S := m.T(), m.S()
	if !o.Train {
		l.weight = ps.NewBuffer("weight", fixedInit(m.Flat()), T, S)
		return l, nil
	}
	lg := make([]float32, 0, T*S)
	for _, row := range m.W {
		for _, v := range row {
			lg = append(lg, float32(temp*math.Log(v+LogitEps)))
		}
	}
	l.logits = ps.New("logits", fixedInit(lg), T, S)
	return l, nil
}

func fixedInit(v []float32) nn.Init {
	return func(_ *rand.Rand, shape []int) []float32 {
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(v) {
			panic(fmt.Sprintf("affinity: init of %d values for shape %v", len(v), shape))
		}
		return append([]float32(nil), v...)
	}
}

// Trainable reports whether A is trained.
func (l *Layer) Trainable() bool { return l.logits != nil }

// A returns the current affinity matrix as a tensor (T, S). Trained, it is
// the softmax of the logits and carries the gradient path to them.
func (l *Layer) A() *nn.Tensor {
	if l.weight != nil {
		return l.weight
	}
	lg := l.logits
	if l.temp != 1 {
		lg = nn.MulScalar(lg, 1/l.temp)
	}
	return nn.Softmax(lg, 1)
}

// Forward maps a target map y (B, T, H, W) to the soft source map
// (B, S, H, W). Panics when y's channel count is not T (a programmer error:
// the label map was one-hot encoded with the wrong vocabulary).
func (l *Layer) Forward(y *nn.Tensor) *nn.Tensor {
	T := len(l.Target)
	if y.Rank() != 4 || y.Dim(1) != T {
		panic(fmt.Sprintf("affinity: Layer.Forward: input %v, want (B, %d, H, W)", y.Shape(), T))
	}
	return models.ApplyLayer(l.A(), y) // (S, T) @ (B, T, HW) -> (B, S, HW)
}

// Matrix reads the current A back to the host (for saving an A that was
// trained, or showing it).
func (l *Layer) Matrix() (*Matrix, error) {
	var data []float32
	var err error
	dev := l.tensor().Device()
	dev.NoGrad(func() {
		sc := dev.Scope()
		defer sc.Close()
		data, err = l.A().Data()
	})
	if err != nil {
		return nil, err
	}
	m := NewMatrix(l.Target, l.Source)
	for t := range m.W {
		for s := range m.W[t] {
			m.W[t][s] = float64(data[t*len(l.Source)+s])
		}
	}
	if l.Trainable() {
		m.SetMeta("method", "trained")
	}
	return m, nil
}

func (l *Layer) tensor() *nn.Tensor {
	if l.weight != nil {
		return l.weight
	}
	return l.logits
}

// Classes names the T target classes (models.LabelLayer).
func (l *Layer) Classes() []string { return l.Target }

// Weights returns the current A, row-major T x S (models.LabelLayer).
func (l *Layer) Weights() ([]float32, error) {
	m, err := l.Matrix()
	if err != nil {
		return nil, err
	}
	return m.Flat(), nil
}
