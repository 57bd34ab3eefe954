package webapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"

	"github.com/klauspost/compress/zstd"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// Metadata of an adapted model file (SaveAdapted): the generator's tensors
// under their own names, A as "affinity.weight" (T, S), and these entries
// beside nn's "config" (the GeneratorConfig) and gan's kind.
const (
	KindAdapted    = "catsynth-adapted-generator"
	MetaTarget     = "target_classes" // JSON [{name, color}]
	MetaSourceName = "source_model"
	MetaAffinity   = "affinity_json" // the matrix in affinity's JSON format (provenance)
	affinityTensor = affinity.ParamPrefix + ".weight"
)

// SaveAdapted writes the source generator with the current affinity matrix
// and target classes as one zstd-compressed safetensors file, which
// LoadModel reads back into the adapted mode.
func (s *Session) SaveAdapted() ([]byte, error) {
	if s.gen == nil {
		return nil, ErrNoModel
	}
	if s.aff == nil || s.target == nil {
		return nil, fmt.Errorf("nothing to save yet: estimate or finetune an affinity matrix first")
	}
	var tensors []safetensors.Tensor
	for _, p := range s.gen.Params.All() {
		data, err := p.T.Data()
		if err != nil {
			return nil, err
		}
		tensors = append(tensors, safetensors.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: data})
	}
	tensors = append(tensors, safetensors.Tensor{Name: affinityTensor, Shape: []int{s.aff.T(), s.aff.S()}, Data: s.aff.Flat()})
	cfg, _ := json.Marshal(s.gen.Config)
	tc, _ := json.Marshal(classInfos(s.target.Classes))
	var aj bytes.Buffer
	if err := s.aff.WriteJSON(&aj); err != nil {
		return nil, err
	}
	meta := map[string]string{nn.MetaFormat: "pt", nn.MetaConfig: string(cfg), gan.MetaKind: KindAdapted,
		MetaTarget: string(tc), MetaSourceName: s.name, MetaAffinity: aj.String()}
	var raw bytes.Buffer
	if err := safetensors.Encode(&raw, tensors, meta, safetensors.WriteOptions{}); err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		return nil, err
	}
	return zw.EncodeAll(raw.Bytes(), nil), nil
}

// isAdapted reports whether a model file's metadata marks it adapted; it
// decodes the file, so callers pass the decoded file on (see LoadModel).
func isAdapted(f *safetensors.File) bool { return f.Metadata[gan.MetaKind] == KindAdapted }

// buildGenerator makes the generator a decoded model file describes.
// allowUnknown skips the affinity tensor of adapted files.
func (s *Session) buildGenerator(f *safetensors.File, name string, allowUnknown bool) (*gan.Generator, error) {
	if k := f.Metadata[gan.MetaKind]; k != "" && k != gan.KindGenerator && k != KindAdapted {
		return nil, fmt.Errorf("%s is a %q file, not a generator model", name, k)
	}
	raw, ok := f.Metadata[nn.MetaConfig]
	if !ok {
		return nil, fmt.Errorf("%s has no %q metadata: not a catsynth generator", name, nn.MetaConfig)
	}
	var cfg gan.GeneratorConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("%s: config: %w", name, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Check the limits before allocating anything on the device.
	if cfg.LabelNC >= MaxClasses {
		return nil, fmt.Errorf("%s has %d classes; the page handles at most %d", name, cfg.LabelNC, MaxClasses-1)
	}
	if err := CheckLimits(cfg, 1, s.limit); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	g, err := gan.NewGenerator(s.Dev, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ck := &nn.Checkpoint{Path: name, File: f, Metadata: f.Metadata}
	if err := ck.LoadInto(g.Params.All(), nn.LoadOptions{AllowUnknown: allowUnknown}); err != nil {
		g.Release()
		return nil, err
	}
	g.Params.SetTraining(false)
	return g, nil
}

// loadAdapted installs an adapted model: its generator, target classes and
// matrix, in the adapted mode.
func (s *Session) loadAdapted(f *safetensors.File, name string) (ModelInfo, error) {
	var tc []ClassInfo
	if err := json.Unmarshal([]byte(f.Metadata[MetaTarget]), &tc); err != nil || len(tc) == 0 {
		return ModelInfo{}, fmt.Errorf("%s: bad %q metadata", name, MetaTarget)
	}
	at, ok := f.Get(affinityTensor)
	if !ok {
		return ModelInfo{}, fmt.Errorf("%s: no %s tensor", name, affinityTensor)
	}
	g, err := s.buildGenerator(f, name, true)
	if err != nil {
		return ModelInfo{}, err
	}
	S := g.Config.LabelNC
	if len(at.Shape) != 2 || at.Shape[0] != len(tc) || at.Shape[1] != S {
		g.Release()
		return ModelInfo{}, fmt.Errorf("%s: %s has shape %v, want [%d %d]", name, affinityTensor, at.Shape, len(tc), S)
	}
	if err := s.install(g, name); err != nil {
		g.Release()
		return ModelInfo{}, err
	}
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
			m.W[t][j] = float64(at.Data[t*S+j])
		}
	}
	m.SetMeta("method", "loaded")
	if _, err := s.setMatrix(m, nil); err != nil {
		return ModelInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	return s.SetAdapted(true)
}
