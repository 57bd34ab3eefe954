package models

import (
	"encoding/json"
	"fmt"
	"maps"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// An adapted model file is a network with a fixed T x S label layer in
// front: the network's tensors under their own names, the layer as
// AdaptedLayerTensor (T, S), and this metadata beside the network's
// config. The page writes it (the user's adapted model); every command
// that takes a model reads it (LoadCheckpoint).
const (
	KindAdapted        = "catsynth-adapted-generator"
	MetaModelKind      = "model_kind"     // the network's kind ("" in older files: a GAN)
	MetaTargetClasses  = "target_classes" // JSON [{name, color}]
	MetaSourceName     = "source_model"
	MetaAdaptedJSON    = "affinity_json" // the layer as an affinity JSON file (provenance)
	AdaptedLayerTensor = "affinity.weight"
)

// TargetClass is one entry of an adapted file's target classes.
type TargetClass struct {
	Name  string `json:"name"`
	Color string `json:"color"` // "#rrggbb"
}

// MatrixLayer is a fixed label layer: out[s] = sum_t W[t, s] y[t].
type MatrixLayer struct {
	W      *nn.Tensor // (T, S)
	Target []string
}

// Forward maps y (B, T, H, W) to (B, S, H, W).
func (l *MatrixLayer) Forward(y *nn.Tensor) *nn.Tensor {
	return ApplyLayer(l.W, y)
}

// Classes names the target classes.
func (l *MatrixLayer) Classes() []string { return l.Target }

// Weights returns W.
func (l *MatrixLayer) Weights() ([]float32, error) { return l.W.Data() }

// ApplyLayer computes the per-pixel linear map of a label layer with
// weights w (T, S) on y (B, T, H, W): (B, S, H, W).
func ApplyLayer(w, y *nn.Tensor) *nn.Tensor {
	T, S := w.Dim(0), w.Dim(1)
	b, h, wd := y.Dim(0), y.Dim(2), y.Dim(3)
	out := nn.MatMul(w, nn.Reshape(y, b, T, h*wd), true, false)
	return nn.Reshape(out, b, S, h, wd)
}

// ReadTargetClasses reads an adapted file's target classes.
func ReadTargetClasses(ck *nn.Checkpoint) ([]TargetClass, error) {
	var tc []TargetClass
	if err := json.Unmarshal([]byte(ck.Metadata[MetaTargetClasses]), &tc); err != nil || len(tc) == 0 {
		return nil, fmt.Errorf("%s: bad %q metadata", ck.Path, MetaTargetClasses)
	}
	return tc, nil
}

// SplitAdapted separates an adapted file into the network's checkpoint
// (its own kind, without the layer tensor) and the layer's weights.
func SplitAdapted(ck *nn.Checkpoint) (net *nn.Checkpoint, layer *safetensors.Tensor, target []TargetClass, err error) {
	if target, err = ReadTargetClasses(ck); err != nil {
		return nil, nil, nil, err
	}
	at, ok := ck.File.Get(AdaptedLayerTensor)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%s: no %s tensor", ck.Path, AdaptedLayerTensor)
	}
	if len(at.Shape) != 2 || at.Shape[0] != len(target) {
		return nil, nil, nil, fmt.Errorf("%s: %s has shape %v for %d target classes", ck.Path, AdaptedLayerTensor, at.Shape, len(target))
	}
	f := &safetensors.File{Metadata: maps.Clone(ck.Metadata)}
	for _, t := range ck.File.Tensors {
		if t.Name != AdaptedLayerTensor {
			f.Tensors = append(f.Tensors, t)
		}
	}
	f.Metadata[MetaKind] = ck.Metadata[MetaModelKind]
	net = &nn.Checkpoint{Path: ck.Path, File: f, Metadata: f.Metadata, Config: ck.Config, ClassNames: ck.ClassNames}
	return net, at, target, nil
}

// loadAdapted builds the network of an adapted file with its layer.
func loadAdapted(dev *nn.Device, ck *nn.Checkpoint) (Conditioned, error) {
	netCk, at, target, err := SplitAdapted(ck)
	if err != nil {
		return Conditioned{}, err
	}
	f, err := familyFor(netCk.Metadata[MetaKind], false)
	if err != nil {
		return Conditioned{}, fmt.Errorf("%s: the adapted network is %v", ck.Path, err)
	}
	m, err := f.Load(dev, netCk)
	if err != nil {
		return Conditioned{}, err
	}
	if S := len(m.Classes()); at.Shape[1] != S {
		m.Release()
		return Conditioned{}, fmt.Errorf("%s: %s has shape %v, want [%d %d]", ck.Path, AdaptedLayerTensor, at.Shape, len(target), S)
	}
	names := make([]string, len(target))
	for i, t := range target {
		names[i] = t.Name
	}
	w := dev.FromData(at.Data, at.Shape[0], at.Shape[1])
	return Conditioned{Net: m, Layer: &MatrixLayer{W: w, Target: names}}, nil
}

// Release frees W.
func (l *MatrixLayer) Release() { l.W.Release() }
