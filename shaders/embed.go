// Package shaders holds the WGSL compute kernels of the GPU backend, one
// file per op family, embedded into the binary so that native builds and the
// browser (GOOS=js) compile the same sources.
//
// Conventions every kernel file follows (nn/gpu/kernel.go relies on them):
//   - All resources live in @group(0). Read-only storage buffers come first
//     (bindings 0..r-1), then read-write storage buffers (r..r+w-1), then one
//     uniform block at binding r+w. Entry points of one file that take
//     different buffers may reuse binding numbers with different variables.
//   - Compile-time parameters are written `override NAME: TYPE = DEFAULT;`.
//     nn/gpu replaces each such line by a `const` holding the requested value
//     before compiling (the Go binding cannot pass pipeline constants), so
//     the compiler sees a constant and folds branches on it.
//   - A line holding only `{{name}}` is a slot that nn/gpu fills with code
//     generated from Go before compiling (the element-wise op switches come
//     from the op tables in nn/backend); see nn/gpu/elementwise_wgsl.go.
//   - Kernels over n elements use a 2D grid: linear index
//     gid.x + gid.y * num_workgroups.x * WG, checked against n, so that no
//     dispatch needs more than 65535 workgroups per dimension.
package shaders

import (
	"embed"
	"fmt"
)

// FS holds every *.wgsl file of this directory.
//
//go:embed *.wgsl
var FS embed.FS

// Source returns the text of the named file ("elementwise.wgsl"). It panics
// when the file does not exist: names are fixed in the code that uses them.
func Source(name string) string {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("shaders: no kernel file %q", name))
	}
	return string(b)
}
