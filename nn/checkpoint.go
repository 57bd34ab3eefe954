package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"catsynth/nn/safetensors"
)

// Metadata keys of catsynth checkpoints (safetensors "__metadata__").
const (
	MetaConfig     = "config"      // the model config struct as JSON
	MetaClassNames = "class_names" // JSON array of strings
	MetaFormat     = "format"      // "pt", as PyTorch's safetensors writer says
)

// SaveOptions describes what SaveParams writes besides the tensors.
type SaveOptions struct {
	// Config is marshalled to JSON under "config" (nil: omitted).
	Config any
	// ClassNames are stored as a JSON array under "class_names" (nil: omitted).
	ClassNames []string
	// Metadata holds further string entries.
	Metadata map[string]string
	// F16 stores tensors as float16 (half the size; not for optimizer state).
	F16 bool
}

// SaveParams writes params (e.g. ps.All(), or an EMA's Shadow()) to a
// safetensors file at path, zstd-compressed when path ends in ".zst". The
// file is written to a temporary name and renamed, so a crash never leaves a
// half-written checkpoint. Its metadata carries a SHA-256 of the content
// (safetensors.DigestKey), which every read verifies.
func SaveParams(path string, params []*Param, o SaveOptions) error {
	meta := map[string]string{MetaFormat: "pt"}
	for k, v := range o.Metadata {
		meta[k] = v
	}
	if o.Config != nil {
		b, err := json.Marshal(o.Config)
		if err != nil {
			return fmt.Errorf("nn: save %s: config: %w", path, err)
		}
		meta[MetaConfig] = string(b)
	}
	if o.ClassNames != nil {
		b, _ := json.Marshal(o.ClassNames)
		meta[MetaClassNames] = string(b)
	}
	tensors := make([]safetensors.Tensor, 0, len(params))
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("nn: save %s: parameter %q listed twice", path, p.Name)
		}
		seen[p.Name] = true
		data, err := p.T.Data()
		if err != nil {
			return fmt.Errorf("nn: save %s: parameter %q: %w", path, p.Name, err)
		}
		tensors = append(tensors, safetensors.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: data})
	}
	if err := safetensors.WriteFile(path, tensors, meta, safetensors.WriteOptions{F16: o.F16, Digest: true}); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	return nil
}

// Checkpoint is a checkpoint file read into host memory.
type Checkpoint struct {
	Path       string
	File       *safetensors.File
	Config     json.RawMessage // nil when the file has no config
	ClassNames []string
	Metadata   map[string]string
}

// ReadCheckpoint reads a checkpoint (plain or .zst) and decodes its metadata,
// so a caller can build the model from Config before loading the weights.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return CheckpointOf(f, path)
}

// DecodeCheckpoint is ReadCheckpoint for a file already in memory (the
// browser has bytes, not paths); name is used in errors.
func DecodeCheckpoint(data []byte, name string) (*Checkpoint, error) {
	f, err := safetensors.Decode(data, name)
	if err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", name, err)
	}
	return CheckpointOf(f, name)
}

// CheckpointOf wraps a decoded file with its decoded metadata (config,
// class names), as ReadCheckpoint does.
func CheckpointOf(f *safetensors.File, path string) (*Checkpoint, error) {
	c := &Checkpoint{Path: path, File: f, Metadata: f.Metadata}
	if s, ok := f.Metadata[MetaConfig]; ok {
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("nn: load %s: metadata %q is not valid JSON", path, MetaConfig)
		}
		c.Config = json.RawMessage(s)
	}
	if s, ok := f.Metadata[MetaClassNames]; ok {
		if err := json.Unmarshal([]byte(s), &c.ClassNames); err != nil {
			return nil, fmt.Errorf("nn: load %s: metadata %q: %w", path, MetaClassNames, err)
		}
	}
	return c, nil
}

// LoadOptions relaxes LoadInto's checks. The zero value is strict.
type LoadOptions struct {
	AllowMissing bool // parameters absent from the file keep their values
	AllowUnknown bool // tensors in the file that the model lacks are skipped
}

// LoadError lists every name that did not match between a checkpoint and a model.
type LoadError struct {
	Path       string
	Missing    []string // in the model, not in the file
	Unknown    []string // in the file, not in the model
	Mismatched []string // "name: file [..], model [..]"
}

func (e *LoadError) Error() string {
	var parts []string
	list := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		const show = 8
		s := strings.Join(names[:min(len(names), show)], ", ")
		if len(names) > show {
			s += fmt.Sprintf(", ... (%d more)", len(names)-show)
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", len(names), what, s))
	}
	list("shape mismatches", e.Mismatched)
	list("missing from file", e.Missing)
	list("unknown to the model", e.Unknown)
	return fmt.Sprintf("nn: load %s: %s", e.Path, strings.Join(parts, "; "))
}

// LoadInto copies the checkpoint's tensors into params by name. Every check
// runs before anything is written, so on error the model is unchanged.
func (c *Checkpoint) LoadInto(params []*Param, o LoadOptions) error {
	le := &LoadError{Path: c.Path}
	byName := map[string]*Param{}
	for _, p := range params {
		byName[p.Name] = p
		st, ok := c.File.Get(p.Name)
		if !ok {
			if !o.AllowMissing {
				le.Missing = append(le.Missing, p.Name)
			}
			continue
		}
		if !sameShape(normShape(st.Shape), normShape(p.T.shape)) {
			le.Mismatched = append(le.Mismatched, fmt.Sprintf("%s: file %v, model %v", p.Name, st.Shape, p.T.shape))
		}
	}
	if !o.AllowUnknown {
		for _, t := range c.File.Tensors {
			if _, ok := byName[t.Name]; !ok {
				le.Unknown = append(le.Unknown, t.Name)
			}
		}
	}
	if len(le.Missing)+len(le.Unknown)+len(le.Mismatched) > 0 {
		sort.Strings(le.Missing)
		return le
	}
	for _, p := range params {
		if st, ok := c.File.Get(p.Name); ok {
			p.T.Upload(st.Data)
		}
	}
	return nil
}

// normShape makes nil and [] the same scalar shape; other shapes must match
// exactly.
func normShape(s []int) []int {
	if len(s) == 0 {
		return []int{}
	}
	return s
}

// LoadParams reads path and loads it into params (see LoadInto).
func LoadParams(path string, params []*Param, o LoadOptions) (*Checkpoint, error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if err := c.LoadInto(params, o); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckFinite refuses a checkpoint with NaN or infinite values, naming the
// first such tensor: a model with such weights gives black images or noise
// without a word.
func (c *Checkpoint) CheckFinite() error {
	for _, t := range c.File.Tensors {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: tensor %s holds %v at element %d: the weights are damaged (a diverged run?)", c.Path, t.Name, v, i)
			}
		}
	}
	return nil
}
