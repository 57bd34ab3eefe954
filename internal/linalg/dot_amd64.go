//go:build amd64 && !purego

package linalg

import xcpu "golang.org/x/sys/cpu"

// dotAVX2 returns sum x[i]*y[i], i < n, for n a multiple of 16.
//
//go:noescape
func dotAVX2(n int, x, y *float64) float64

// dotAVX512 returns sum x[i]*y[i], i < n, for n a multiple of 32.
//
//go:noescape
func dotAVX512(n int, x, y *float64) float64

func dotKernelAVX2(x, y []float64) float64 {
	n := len(x) &^ 15
	s := 0.0
	if n > 0 {
		_ = y[n-1]
		s = dotAVX2(n, &x[0], &y[0])
	}
	return s + dotGo(x[n:], y[n:len(x)])
}

func dotKernelAVX512(x, y []float64) float64 {
	n := len(x) &^ 31
	s := 0.0
	if n > 0 {
		_ = y[n-1]
		s = dotAVX512(n, &x[0], &y[0])
	}
	return s + dotGo(x[n:], y[n:len(x)])
}

// archDots lists the dot kernels this CPU can run besides dotGo, the
// preferred last.
var archDots []dotKernel

func init() {
	if xcpu.X86.HasAVX2 && xcpu.X86.HasFMA {
		archDots = append(archDots, dotKernel{"avx2fma", dotKernelAVX2})
	}
	if xcpu.X86.HasAVX512F {
		archDots = append(archDots, dotKernel{"avx512", dotKernelAVX512})
	}
	if len(archDots) > 0 {
		dot = archDots[len(archDots)-1].fn
	}
}
