// Package backbones holds the pretrained feature networks imported by
// `catsynth import` (docs/EVAL.md). The MobileNetV2 one is embedded: it is
// the vision affinity estimator's network, served to the web page, and
// small (3.5 MB). The InceptionV3 one (20 MB, for FID) stays a file that
// commands read by path.
package backbones

import _ "embed"

// MobileNetV2File is the embedded network's file name in this folder.
const MobileNetV2File = "nsfwjs-mobilenet_v2.safetensors.zst"

// MobileNetV2 is that file's content (an backbone checkpoint).
//
//go:embed nsfwjs-mobilenet_v2.safetensors.zst
var MobileNetV2 []byte
