// Package segmenters holds the segmenters trained with `catsynth train seg`
// on each synthetic domain (docs/EVAL.md): the mIoU judges of generated
// images. The source one is embedded: the web page's segmentation affinity
// estimator runs it on the user's images.
package segmenters

import _ "embed"

// SourceFile is the source-domain segmenter's file name in this folder.
const SourceFile = "source-64.safetensors.zst"

// Source is that file's content (an eval/seg checkpoint, 64 px, the 23
// source classes).
//
//go:embed source-64.safetensors.zst
var Source []byte
