package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Init produces the initial values of a tensor of the given shape, drawing
// from r. Fan-in and fan-out follow PyTorch: for a weight (O, I, k...) the
// fan-in is I*prod(k) and the fan-out O*prod(k).
type Init func(r *rand.Rand, shape []int) []float32

// Fans returns PyTorch's fan-in and fan-out of a weight shape.
func Fans(shape []int) (fanIn, fanOut int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	}
	rec := numel(shape[2:])
	return shape[1] * rec, shape[0] * rec
}

// Const fills with v.
func Const(v float32) Init {
	return func(_ *rand.Rand, shape []int) []float32 {
		out := make([]float32, numel(shape))
		for i := range out {
			out[i] = v
		}
		return out
	}
}

// Zeros fills with 0; Ones with 1.
var (
	ZerosInit = Const(0)
	OnesInit  = Const(1)
)

// Uniform draws from U(lo, hi).
func Uniform(lo, hi float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		out := make([]float32, numel(shape))
		for i := range out {
			out[i] = float32(lo + (hi-lo)*r.Float64())
		}
		return out
	}
}

// Normal draws from N(mean, std^2).
func Normal(mean, std float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		out := make([]float32, numel(shape))
		for i := range out {
			out[i] = float32(mean + std*r.NormFloat64())
		}
		return out
	}
}

// XavierUniform is Glorot's U(-b, b), b = gain*sqrt(6/(fanIn+fanOut)).
func XavierUniform(gain float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		in, out := Fans(shape)
		b := gain * math.Sqrt(6/float64(in+out))
		return Uniform(-b, b)(r, shape)
	}
}

// XavierNormal is Glorot's N(0, s^2), s = gain*sqrt(2/(fanIn+fanOut)).
func XavierNormal(gain float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		in, out := Fans(shape)
		return Normal(0, gain*math.Sqrt(2/float64(in+out)))(r, shape)
	}
}

// KaimingUniform is He's U(-b, b), b = gain*sqrt(3/fanIn) (PyTorch's
// kaiming_uniform_ with mode fan_in; gain as from Gain).
func KaimingUniform(gain float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		in, _ := Fans(shape)
		b := gain * math.Sqrt(3/float64(in))
		return Uniform(-b, b)(r, shape)
	}
}

// KaimingNormal is He's N(0, s^2), s = gain/sqrt(fanIn).
func KaimingNormal(gain float64) Init {
	return func(r *rand.Rand, shape []int) []float32 {
		in, _ := Fans(shape)
		return Normal(0, gain/math.Sqrt(float64(in)))(r, shape)
	}
}

// Gain returns PyTorch's calculate_gain for "linear", "conv2d", "sigmoid",
// "tanh", "relu" and "leaky_relu" (param is the negative slope).
func Gain(nonlinearity string, param float64) float64 {
	switch nonlinearity {
	case "linear", "conv2d", "sigmoid":
		return 1
	case "tanh":
		return 5.0 / 3
	case "relu":
		return math.Sqrt2
	case "leaky_relu":
		return math.Sqrt(2 / (1 + param*param))
	}
	panic(fmt.Sprintf("nn: Gain: unknown nonlinearity %q", nonlinearity))
}

// torchDefaultWeight is PyTorch's default Conv/Linear weight init,
// kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
var torchDefaultWeight = KaimingUniform(Gain("leaky_relu", math.Sqrt(5)))

// torchDefaultBias is PyTorch's default bias init for a layer with the given
// fan-in: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
func torchDefaultBias(fanIn int) Init {
	b := 1 / math.Sqrt(float64(max(fanIn, 1)))
	return Uniform(-b, b)
}
