// Package public is the static web page: HTML, ES modules, the workers,
// the stylesheet, and, after `make wasm`, catsynth.wasm and Go's
// wasm_exec.js. It is embedded into the catsynth binary at build time (make
// build builds the wasm first), so that `catsynth serve` needs no checkout;
// `catsynth serve --dir public` serves the files on disk instead, for
// development.
package public

import "embed"

// FS holds every file of this folder present at build time.
//
//go:embed *
var FS embed.FS
