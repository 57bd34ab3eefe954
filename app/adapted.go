package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"

	"github.com/klauspost/compress/zstd"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// The adapted model file (SaveAdapted) is models' KindAdapted format.
const affinityTensor = models.AdaptedLayerTensor

// SaveAdapted writes the source generator with the current affinity matrix
// and target classes as one zstd-compressed safetensors file, which
// LoadModel reads back into the adapted mode.
func (s *Session) SaveAdapted() ([]byte, error) {
	if s.net == nil {
		return nil, ErrNoModel
	}
	if s.aff == nil || s.target == nil {
		return nil, fmt.Errorf("nothing to save yet: estimate or finetune an affinity matrix first")
	}
	if err := s.useNormStats(true); err != nil { // the file holds the adapted view
		return nil, err
	}
	var tensors []safetensors.Tensor
	for _, p := range s.net.Params().All() {
		data, err := p.T.Data()
		if err != nil {
			return nil, err
		}
		tensors = append(tensors, safetensors.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: data})
	}
	tensors = append(tensors, safetensors.Tensor{Name: affinityTensor, Shape: []int{s.aff.T(), s.aff.S()}, Data: s.aff.Flat()})
	cfg, err := s.net.ConfigJSON()
	if err != nil {
		return nil, err
	}
	tc, _ := json.Marshal(classInfos(s.target.Classes))
	var aj bytes.Buffer
	if err := s.aff.WriteJSON(&aj); err != nil {
		return nil, err
	}
	meta := map[string]string{nn.MetaFormat: "pt", nn.MetaConfig: string(cfg), models.MetaKind: models.KindAdapted,
		models.MetaModelKind: s.net.Kind(), models.MetaTargetClasses: string(tc), models.MetaSourceName: s.name, models.MetaAdaptedJSON: aj.String()}
	var raw bytes.Buffer
	if err := safetensors.Encode(&raw, tensors, meta, safetensors.WriteOptions{Digest: true}); err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		return nil, err
	}
	return zw.EncodeAll(raw.Bytes(), nil), nil
}

// loadAdapted installs an adapted model: its network, target classes and
// matrix, in the adapted mode.
func (s *Session) loadAdapted(ck *nn.Checkpoint, name string) (ModelInfo, error) {
	netCk, at, tc, err := models.SplitAdapted(ck) // the layer stays on the host: it becomes the matrix
	if err != nil {
		return ModelInfo{}, err
	}
	c, err := models.LoadCheckpoint(s.Dev, netCk)
	if err != nil {
		return ModelInfo{}, err
	}
	if S := len(c.Net.Classes()); at.Shape[1] != S {
		c.Release()
		return ModelInfo{}, fmt.Errorf("%s: %s has shape %v, want [%d %d]", name, affinityTensor, at.Shape, len(tc), S)
	}
	W := at.Data
	s.install(c.Net, name)
	S := len(s.source)
	classes := make([]dataset.Class, len(tc))
	for i, c := range tc {
		var r, gg, b uint8
		if _, err := fmt.Sscanf(c.Color, "#%02x%02x%02x", &r, &gg, &b); err != nil {
			r, gg, b = dataset.DefaultColor(i).R, dataset.DefaultColor(i).G, dataset.DefaultColor(i).B
		}
		classes[i] = dataset.Class{Name: c.Name, Color: color.RGBA{r, gg, b, 255}}
	}
	s.target = &TargetSet{Classes: classes, fromFile: true}
	m := affinity.NewMatrix(dataset.ClassNames(classes), dataset.ClassNames(s.source))
	for t := range m.W {
		for j := range m.W[t] {
			m.W[t][j] = float64(W[t*S+j])
		}
	}
	m.SetMeta("method", "loaded")
	if _, err := s.setMatrix(m, nil); err != nil {
		return ModelInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	return s.SetAdapted(true)
}
