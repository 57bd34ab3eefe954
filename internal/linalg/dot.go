package linalg

// dotKernel is one implementation of the dot product of two equal-length
// vectors (the symmetric matrix-vector products of SymEigenvalues).
type dotKernel struct {
	name string
	fn   func(x, y []float64) float64
}

// dot is the dot kernel in use: the last of archDots, or else dotGo.
var dot = dotGo

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
