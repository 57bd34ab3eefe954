package affinity

import (
	"fmt"
	"math"

	"catsynth/models"

	"catsynth/nn"
)

// FreePrefix is the Params prefix of the free input layer ("input.weight",
// shape (T, S)).
const FreePrefix = "input"

// FreeLayer is finetuning's input layer: a T x S map like Layer without the
// row constraint, y_s = W^T y_t, trained freely. The paper's plain
// finetuning baseline starts it at random; CAT with a free A starts it at
// the estimate.
type FreeLayer struct {
	Target []string
	W      *nn.Tensor // (T, S), trainable
}

// NewFreeLayer registers W (T, S) under ps (use ps.Sub(FreePrefix)) with
// init; nil init is PyTorch's default for a new bias-free 1x1 conv T -> S
// (uniform in +-1/sqrt(T)).
func NewFreeLayer(ps *nn.Params, target []string, S int, init nn.Init) *FreeLayer {
	T := len(target)
	if init == nil {
		b := 1 / math.Sqrt(float64(T))
		init = nn.Uniform(-b, b)
	}
	return &FreeLayer{Target: append([]string(nil), target...), W: ps.New("weight", init, T, S)}
}

// NewFreeLayerFrom starts a free layer at A.
func NewFreeLayerFrom(ps *nn.Params, A *Matrix) *FreeLayer {
	return NewFreeLayer(ps, A.Target, A.S(), fixedInit(A.Flat()))
}

// Forward maps y (B, T, H, W) to (B, S, H, W).
func (l *FreeLayer) Forward(y *nn.Tensor) *nn.Tensor {
	if T := l.W.Dim(0); y.Rank() != 4 || y.Dim(1) != T {
		panic(fmt.Sprintf("affinity: FreeLayer.Forward: input %v, want (B, %d, H, W)", y.Shape(), T))
	}
	return models.ApplyLayer(l.W, y)
}

// Classes names the target classes.
func (l *FreeLayer) Classes() []string { return l.Target }

// Weights returns W, row-major T x S.
func (l *FreeLayer) Weights() ([]float32, error) { return l.W.Data() }
