//go:build !amd64 || purego

package linalg

// archDots is empty where no assembly dot kernel exists.
var archDots []dotKernel
