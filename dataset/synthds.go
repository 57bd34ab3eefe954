package dataset

import (
	"fmt"
	"image/color"

	"catsynth/dataset/synth"
)

// SynthConfig chooses a synthetic dataset: N scenes of a domain rendered at
// W x H on the fly from Seed (the zero values mean 1000 scenes, 128x128,
// seed 0).
type SynthConfig struct {
	Domain string
	N      int
	Seed   uint64
	W, H   int
}

type synthDS struct {
	cfg     SynthConfig
	dom     *synth.Domain
	classes []Class
}

// OpenSynth returns a synthetic dataset (package synth) that renders each
// sample when it is loaded: nothing touches the disk.
func OpenSynth(cfg SynthConfig) (Dataset, error) {
	d, err := synth.Lookup(cfg.Domain)
	if err != nil {
		return nil, err
	}
	if cfg.N == 0 {
		cfg.N = 1000
	}
	if cfg.W == 0 {
		cfg.W = 128
	}
	if cfg.H == 0 {
		cfg.H = cfg.W
	}
	if cfg.N < 0 || cfg.W < 8 || cfg.H < 8 || cfg.W > 8192 || cfg.H > 8192 {
		return nil, fmt.Errorf("synth: need n >= 1 and a size in 8..8192 (got n=%d, %dx%d)", cfg.N, cfg.W, cfg.H)
	}
	cs := make([]Class, len(d.Classes))
	for i, c := range d.Classes {
		cs[i] = Class{Name: c.Name, Color: color.RGBA{c.Color[0], c.Color[1], c.Color[2], 255}}
	}
	return &synthDS{cfg: cfg, dom: d, classes: cs}, nil
}

func (s *synthDS) Name() string {
	return fmt.Sprintf("synth:%s:n=%d,seed=%d,size=%dx%d", s.cfg.Domain, s.cfg.N, s.cfg.Seed, s.cfg.W, s.cfg.H)
}
func (s *synthDS) Classes() []Class      { return s.classes }
func (s *synthDS) Len() int              { return s.cfg.N }
func (s *synthDS) ItemName(i int) string { return fmt.Sprintf("%s_%06d", s.cfg.Domain, i) }

// Load renders scene i.
func (s *synthDS) Load(i int) (*Sample, error) {
	if i < 0 || i >= s.cfg.N {
		return nil, fmt.Errorf("synth: index %d out of range [0,%d)", i, s.cfg.N)
	}
	img, lab := s.dom.Render(s.cfg.Seed, i, s.cfg.W, s.cfg.H)
	m := &LabelMap{W: s.cfg.W, H: s.cfg.H, Pix: make([]int32, len(lab))}
	for j, v := range lab {
		m.Pix[j] = int32(v)
	}
	return &Sample{Name: s.ItemName(i), Image: img, Label: m, Classes: s.classes}, nil
}

// SynthRelation returns the ground-truth relation of a synthetic domain to
// the source domain (see synth.Relation). For evaluation only.
func SynthRelation(domain string) (synth.Relation, error) {
	d, err := synth.Lookup(domain)
	if err != nil {
		return synth.Relation{}, err
	}
	return d.Relation(), nil
}
