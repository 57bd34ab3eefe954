//go:build !amd64 || purego

package linalg

// archKernels is empty where no assembly micro-kernel exists: the portable
// goKernel serves (GOOS=js, arm64, or the purego build tag).
var archKernels []microKernel

func init() { kernel = chooseKernel(archKernels) }
