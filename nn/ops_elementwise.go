package nn

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// ---- unary ops ------------------------------------------------------------

// unary applies a backend unary op; its backward is the backend's UnaryGrad,
// which gets x, y = f(x) and the output gradient.
func unary(op backend.UnaryOp, x *Tensor, a backend.Args) *Tensor {
	d := x.dev
	y := d.alloc(x.shape)
	n := x.Numel()
	d.be.Unary(op, y.buf(), x.buf(), n, a)
	return record(y, op.String(), []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx := d.alloc(x.shape)
		d.be.UnaryGrad(op, dx.buf(), x.buf(), y.buf(), g.buf(), n, a)
		return []*Tensor{dx}
	})
}

// Affine returns alpha*x + beta.
func Affine(x *Tensor, alpha, beta float32) *Tensor {
	return unary(backend.Affine, x, backend.Args{Alpha: alpha, Beta: beta})
}

// AddScalar returns x + c.
func AddScalar(x *Tensor, c float32) *Tensor { return Affine(x, 1, c) }

// SubScalar returns x - c.
func SubScalar(x *Tensor, c float32) *Tensor { return Affine(x, 1, -c) }

// RSubScalar returns c - x.
func RSubScalar(c float32, x *Tensor) *Tensor { return Affine(x, -1, c) }

// MulScalar returns c * x.
func MulScalar(x *Tensor, c float32) *Tensor { return Affine(x, c, 0) }

// DivScalar returns x / c.
func DivScalar(x *Tensor, c float32) *Tensor { return Affine(x, 1/c, 0) }

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return Affine(x, -1, 0) }

// MaxScalar returns max(x, c) element-wise.
func MaxScalar(x *Tensor, c float32) *Tensor { return Clamp(x, c, float32(math.Inf(1))) }

// MinScalar returns min(x, c) element-wise.
func MinScalar(x *Tensor, c float32) *Tensor { return Clamp(x, float32(math.Inf(-1)), c) }

// Clamp returns min(max(x, lo), hi); the gradient is zero outside [lo, hi].
func Clamp(x *Tensor, lo, hi float32) *Tensor {
	return unary(backend.Clamp, x, backend.Args{Alpha: lo, Beta: hi})
}

// Relu returns max(x, 0).
func Relu(x *Tensor) *Tensor { return unary(backend.Relu, x, backend.Args{}) }

// LeakyRelu returns x for x >= 0 and slope*x otherwise.
func LeakyRelu(x *Tensor, slope float32) *Tensor {
	return unary(backend.LeakyRelu, x, backend.Args{Alpha: slope})
}

// Silu returns x * sigmoid(x).
func Silu(x *Tensor) *Tensor { return unary(backend.Silu, x, backend.Args{}) }

// Gelu returns x * Phi(x) (exact erf form, PyTorch's default).
func Gelu(x *Tensor) *Tensor { return unary(backend.Gelu, x, backend.Args{}) }

// Tanh returns tanh(x).
func Tanh(x *Tensor) *Tensor { return unary(backend.Tanh, x, backend.Args{}) }

// Sigmoid returns 1 / (1 + exp(-x)).
func Sigmoid(x *Tensor) *Tensor { return unary(backend.Sigmoid, x, backend.Args{}) }

// Exp returns exp(x).
func Exp(x *Tensor) *Tensor { return unary(backend.Exp, x, backend.Args{}) }

// Log returns ln(x).
func Log(x *Tensor) *Tensor { return unary(backend.Log, x, backend.Args{}) }

// Sqrt returns sqrt(x).
func Sqrt(x *Tensor) *Tensor { return unary(backend.Sqrt, x, backend.Args{}) }

// Rsqrt returns 1/sqrt(x).
func Rsqrt(x *Tensor) *Tensor { return unary(backend.Rsqrt, x, backend.Args{}) }

// Square returns x*x.
func Square(x *Tensor) *Tensor { return unary(backend.Square, x, backend.Args{}) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return unary(backend.Abs, x, backend.Args{}) }

// Recip returns 1/x.
func Recip(x *Tensor) *Tensor { return unary(backend.Recip, x, backend.Args{}) }

// Pow returns x^p for x > 0.
func Pow(x *Tensor, p float32) *Tensor { return unary(backend.Pow, x, backend.Args{Alpha: p}) }

// ---- binary ops with broadcasting -----------------------------------------

type binOp = backend.BinaryOp

const (
	addOp = backend.Add
	subOp = backend.Sub
	mulOp = backend.Mul
	divOp = backend.Div
	maxOp = backend.Max
	minOp = backend.Min
)

// broadcastShape returns the numpy broadcast of a and b, or ok=false.
func broadcastShape(a, b []int) (out []int, ok bool) {
	n := max(len(a), len(b))
	out = make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastStrides returns the strides that read a contiguous tensor of shape
// as if it had shape out (0 on broadcast and prepended axes).
func broadcastStrides(shape, out []int) []int {
	st := make([]int, len(out))
	cs := contiguousStrides(shape)
	off := len(out) - len(shape)
	for i := range shape {
		if shape[i] != 1 || out[i+off] == 1 {
			st[i+off] = cs[i]
		}
	}
	return st
}

// collapse merges adjacent axes that are contiguous in every stride set and
// drops size-1 axes, so that broadcasts of any rank fit backend.MaxRank.
func collapse(shape []int, strides ...[]int) ([]int, [][]int) {
	var cs []int
	cst := make([][]int, len(strides))
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if len(cs) > 0 {
			merge := true
			for k := range strides {
				if cst[k][len(cst[k])-1] != strides[k][i]*d {
					merge = false
					break
				}
			}
			if merge {
				cs[len(cs)-1] *= d
				for k := range strides {
					cst[k][len(cst[k])-1] = strides[k][i]
				}
				continue
			}
		}
		cs = append(cs, d)
		for k := range strides {
			cst[k] = append(cst[k], strides[k][i])
		}
	}
	if len(cs) == 0 {
		cs = []int{1}
		for k := range strides {
			cst[k] = []int{0}
		}
	}
	return cs, cst
}

// binaryInto computes dst = a op b (broadcast to dst's shape) without autograd.
func binaryInto(dst *Tensor, op binOp, a, b *Tensor) {
	out := dst.shape
	sh, st := collapse(out, broadcastStrides(a.shape, out), broadcastStrides(b.shape, out))
	if len(sh) > backend.MaxRank {
		panic(fmt.Sprintf("nn: %v: broadcast of %v and %v needs rank %d > %d", op, a.shape, b.shape, len(sh), backend.MaxRank))
	}
	dst.dev.be.Binary(op, dst.buf(), a.buf(), b.buf(), backend.Broadcast{Shape: sh, AStrides: st[0], BStrides: st[1]})
	dst.written()
}

func binary(op binOp, a, b *Tensor) *Tensor {
	if a.dev != b.dev {
		panic(fmt.Sprintf("nn: %v of tensors on different devices", op))
	}
	out, ok := broadcastShape(a.shape, b.shape)
	if !ok {
		panic(fmt.Sprintf("nn: %v: shapes %v and %v do not broadcast", op, a.shape, b.shape))
	}
	y := a.dev.alloc(out)
	binaryInto(y, op, a, b)
	return record(y, op.String(), []*Tensor{a, b}, func(g *Tensor) []*Tensor {
		var ga, gb *Tensor
		switch op {
		case addOp:
			ga, gb = g, g
		case subOp:
			ga, gb = g, Neg(g)
		case mulOp:
			if a.RequiresGrad() {
				ga = binary(mulOp, g, b)
			}
			if b.RequiresGrad() {
				gb = binary(mulOp, g, a)
			}
		case divOp:
			ga = binary(divOp, g, b)
			if b.RequiresGrad() {
				gb = Neg(binary(mulOp, ga, y)) // -g*a/b^2 = -(g/b)*(a/b)
			}
		case maxOp, minOp:
			// The winner gets g; ties go to b. mask(a wins) = step(a-b) (max)
			// or step(b-a) (min), taken from relu's derivative.
			diff := binary(subOp, a, b)
			if op == minOp {
				diff = Neg(diff)
			}
			ga = a.dev.alloc(out)
			a.dev.be.UnaryGrad(backend.Relu, ga.buf(), diff.buf(), diff.buf(), g.buf(), ga.Numel(), backend.Args{})
			gb = binary(subOp, g, ga)
		}
		return []*Tensor{reduceTo(ga, a.shape), reduceTo(gb, b.shape)}
	})
}

// reduceTo sums a broadcast gradient g back to shape (nil stays nil).
func reduceTo(g *Tensor, shape []int) *Tensor {
	if g == nil || sameShape(g.shape, shape) {
		return g
	}
	off := len(g.shape) - len(shape)
	var axes []int
	for i := range g.shape {
		if i < off || (shape[i-off] == 1 && g.shape[i] != 1) {
			axes = append(axes, i)
		}
	}
	return Reshape(Sum(g, axes, false), shape...)
}

// Add returns a + b with numpy broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(addOp, a, b) }

// Sub returns a - b with numpy broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary(subOp, a, b) }

// Mul returns a * b with numpy broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary(mulOp, a, b) }

// Div returns a / b with numpy broadcasting.
func Div(a, b *Tensor) *Tensor { return binary(divOp, a, b) }

// Maximum returns max(a, b) with numpy broadcasting; on ties the gradient goes to b.
func Maximum(a, b *Tensor) *Tensor { return binary(maxOp, a, b) }

// Minimum returns min(a, b) with numpy broadcasting; on ties the gradient goes to b.
func Minimum(a, b *Tensor) *Tensor { return binary(minOp, a, b) }
