package backend

import (
	"fmt"
	"math"
)

// ConvEpilogue is implemented by backends that apply a per-channel affine
// map and an activation to a convolution's output while writing it, so
// that a conv followed by its bias (or a folded batch norm) and an
// activation costs one pass and one dispatch instead of three. Package nn
// composes the same function from Conv2D and element-wise ops when a
// backend lacks it; that composition is the reference.
type ConvEpilogue interface {
	// Conv2DEpilogue writes y = act(conv(x, w) * scale[o] + shift[o]) for
	// output channel o (see Conv). scale is nil unless e.Scale and shift nil
	// unless e.Shift; a missing scale is 1 and a missing shift 0.
	Conv2DEpilogue(y, x, w, scale, shift Buffer, p Conv, e Epilogue)
}

// Activation is the function an epilogue ends with.
type Activation int

// The activations of an epilogue.
const (
	ActNone      Activation = iota // identity
	ActReLU                        // max(z, 0)
	ActLeakyReLU                   // z >= 0 ? z : Slope*z
	ActReLU6                       // min(max(z, 0), 6)
	ActTanh                        // tanh(z)
	NumActivations
)

// Epilogue describes what follows the convolution: an optional per-channel
// scale, an optional per-channel shift, then Act (Slope is the leaky
// ReLU's negative slope). The zero value is the plain convolution.
type Epilogue struct {
	Scale, Shift bool
	Act          Activation
	Slope        float32
}

// Check panics with a message naming op when e is not valid.
func (e Epilogue) Check(op string) {
	if e.Act < ActNone || e.Act >= NumActivations || e.Act == ActLeakyReLU && !(e.Slope > 0) {
		panic(fmt.Sprintf("%s: bad epilogue %+v (leaky ReLU needs a positive slope)", op, e))
	}
}

// Apply is the epilogue of one value z of output channel o, in float32 as
// every backend computes it: scale first, then shift, then the activation
// (tanh in float64, as the CPU backend's Tanh).
func (e Epilogue) Apply(z, scale, shift float32) float32 {
	if e.Scale {
		z *= scale
	}
	if e.Shift {
		z += shift
	}
	switch e.Act {
	case ActReLU:
		return max(z, 0)
	case ActLeakyReLU:
		if z >= 0 {
			return z
		}
		return e.Slope * z
	case ActReLU6:
		return min(max(z, 0), 6)
	case ActTanh:
		return float32(math.Tanh(float64(z)))
	}
	return z
}

// Derivative is act'(z) from the activation's output y: relu and leaky
// ReLU from y's sign (the slope is positive, so y > 0 exactly when z > 0),
// relu6 where 0 < y < 6, tanh as 1 - y*y. At kinks: relu'(0) = 0 and
// leaky_relu'(0) = Slope as in PyTorch; relu6 differs from Clamp's closed
// interval only where z is exactly 0 or 6, which y cannot tell apart.
func (e Epilogue) Derivative(y float32) float32 {
	switch e.Act {
	case ActReLU:
		if y > 0 {
			return 1
		}
		return 0
	case ActLeakyReLU:
		if y > 0 {
			return 1
		}
		return e.Slope
	case ActReLU6:
		if y > 0 && y < 6 {
			return 1
		}
		return 0
	case ActTanh:
		return 1 - y*y
	}
	return 1
}
