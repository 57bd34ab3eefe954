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

// dotAxpyAVX2 returns sum a[i]*x[i] and adds alpha*a[i] to y[i], i < n,
// for n a multiple of 8.
//
//go:noescape
func dotAxpyAVX2(n int, a, x, y *float64, alpha float64) float64

// dotAxpyAVX512 is dotAxpyAVX2 for n a multiple of 16.
//
//go:noescape
func dotAxpyAVX512(n int, a, x, y *float64, alpha float64) float64

func dotAxpyKernelAVX2(a, x, y []float64, alpha float64) float64 {
	n := len(a) &^ 7
	s := 0.0
	if n > 0 {
		_, _ = x[n-1], y[n-1]
		s = dotAxpyAVX2(n, &a[0], &x[0], &y[0], alpha)
	}
	return s + dotAxpyGo(a[n:], x[n:len(a)], y[n:len(a)], alpha)
}

func dotAxpyKernelAVX512(a, x, y []float64, alpha float64) float64 {
	n := len(a) &^ 15
	s := 0.0
	if n > 0 {
		_, _ = x[n-1], y[n-1]
		s = dotAxpyAVX512(n, &a[0], &x[0], &y[0], alpha)
	}
	return s + dotAxpyGo(a[n:], x[n:len(a)], y[n:len(a)], alpha)
}

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
		archDots = append(archDots, dotKernel{"avx2fma", dotKernelAVX2, dotAxpyKernelAVX2})
	}
	if xcpu.X86.HasAVX512F {
		archDots = append(archDots, dotKernel{"avx512", dotKernelAVX512, dotAxpyKernelAVX512})
	}
	if len(archDots) > 0 {
		dot = archDots[len(archDots)-1].fn
		dotAxpy = archDots[len(archDots)-1].axpy
	}
}
