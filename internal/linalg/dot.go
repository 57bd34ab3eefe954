package linalg

// dotKernel is one implementation of the dot product of two equal-length
// vectors, with its fused dot-and-axpy partner (the lower-triangle
// symmetric products).
type dotKernel struct {
	name string
	fn   func(x, y []float64) float64
	axpy func(a, x, y []float64, alpha float64) float64
}

// dot and dotAxpy are the kernels in use: the last of archDots, or else
// the portable ones.
var (
	dot     = dotGo
	dotAxpy = dotAxpyGo
)

// dotAxpyGo returns sum a[i]*x[i] and adds alpha*a[i] to y[i] for i <
// len(a) (x and y at least as long), in one pass over a.
func dotAxpyGo(a, x, y []float64, alpha float64) float64 {
	x, y = x[:len(a)], y[:len(a)]
	s := 0.0
	for i, v := range a {
		s += v * x[i]
		y[i] += alpha * v
	}
	return s
}

// dotGo is the portable dot product with four partial sums; y must be at
// least as long as x.
func dotGo(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
