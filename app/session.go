// Package app is the session core of catsynth's interactive front ends, the
// web page and the desktop app: the model session behind the page's
// JavaScript API (load a model of any family, paint-and-generate, label
// PNGs, the few-shot target set, affinity estimation, affinity-only
// finetuning, adapted-model files). It compiles against the models
// contract alone and has no syscall/js code, so it is tested natively;
// wasm/app_js.go wraps it for the browser, webapp serves the page.
//
// Label maps cross the API as one byte per pixel, row-major, H x W at the
// model's resolution: the class index, or Unlabelled (255).
package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync/atomic"
	"time"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/dataset/synth"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// Unlabelled is the label byte of a pixel with no class (the eraser).
const Unlabelled = 255

// DefaultBindingLimit is WebGPU's default maxStorageBufferBindingSize
// (128 MiB): nn/gpu requests its device with default limits on js, so this
// is the largest tensor the page's GPU backend can bind, whatever the
// adapter allows.
const DefaultBindingLimit = 128 << 20

// MaxClasses is the most classes a label byte can index (0..254).
const MaxClasses = 255

// ClassInfo is one class of the palette.
type ClassInfo struct {
	Name  string `json:"name"`
	Color string `json:"color"` // "#rrggbb"
}

// ModelInfo describes the active model to the page.
type ModelInfo struct {
	Name    string      `json:"name"`
	Classes []ClassInfo `json:"classes"` // the classes label maps use now (target classes when adapted)
	Source  []ClassInfo `json:"source"`  // the generator's own classes
	Kind    string      `json:"kind"`    // the model family's file kind
	Width   int         `json:"width"`
	Height  int         `json:"height"`
	Params  int         `json:"params"`
	Adapted bool        `json:"adapted"` // generation goes through the affinity layer
	// Sampling are an iterative model's sampler settings (a diffusion
	// model: steps, guidance, eta); nil for a one-shot GAN.
	Sampling *models.Sampling `json:"sampling"`
	// SamplingLimits bound the settings SetSampling takes (nil: unknown,
	// or a GAN).
	SamplingLimits *models.SamplingLimits `json:"samplingLimits,omitempty"`
}

// Session holds one device and one source model, plus the target set,
// affinity matrix and affinity layer of a transfer. It is used by one
// goroutine at a time (the page serialises its calls), except Stop.
type Session struct {
	Dev *nn.Device

	name    string
	net     models.Model
	h, w    int // the model's size, which label maps use
	source  []dataset.Class
	limit   int64 // device buffer limit in bytes (0: unchecked)
	target  *TargetSet
	aff     *affinity.Matrix
	layer   *affinity.Layer
	layerPs *nn.Params
	adapted bool
	norm    normStats // batch-norm statistics of the source and the adapted view
	stop    atomic.Bool
	est     estimators
}

// NewSession wraps an open device. limit is the largest buffer (bytes) the
// device allows, checked when a model loads (0: no check, as on the CPU).
func NewSession(dev *nn.Device, limit int64) *Session {
	return &Session{Dev: dev, limit: limit}
}

// Release frees the models and the estimators' networks (not the device).
func (s *Session) Release() {
	s.releaseModel()
	s.est.release()
}

// releaseModel frees the model and the affinity layer.
func (s *Session) releaseModel() {
	s.dropLayer()
	if s.net != nil {
		s.net.Release()
		s.net = nil
	}
}

// ErrNoModel is returned by calls that need a loaded model.
var ErrNoModel = errors.New("no model is loaded")

// LoadModel loads a model file of any family (safetensors, plain or zstd)
// or an adapted model (SaveAdapted's file), replacing the current model and
// any transfer state. Its size is checked against the device limit before
// anything is allocated. name is used in messages.
func (s *Session) LoadModel(data []byte, name string) (ModelInfo, error) {
	if len(data) == 0 {
		return ModelInfo{}, fmt.Errorf("%s is empty", name)
	}
	f, err := safetensors.Decode(data, name)
	if err != nil {
		return ModelInfo{}, err
	}
	ck, err := nn.CheckpointOf(f, name)
	if err != nil {
		return ModelInfo{}, err
	}
	spec, err := models.Inspect(ck)
	if err != nil {
		return ModelInfo{}, err
	}
	if len(spec.Classes) >= MaxClasses {
		return ModelInfo{}, fmt.Errorf("%s has %d classes; the page handles at most %d", name, len(spec.Classes), MaxClasses-1)
	}
	if err := models.CheckLimits(spec, 1, s.limit); err != nil {
		return ModelInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	if ck.Metadata[models.MetaKind] == models.KindAdapted {
		return s.loadAdapted(ck, name)
	}
	c, err := models.LoadCheckpoint(s.Dev, ck)
	if err != nil {
		return ModelInfo{}, err
	}
	s.install(c.Net, name)
	return s.Info(), nil
}

// install makes net the source model (its size was checked).
func (s *Session) install(net models.Model, name string) {
	s.releaseModel()
	s.target, s.aff, s.adapted = nil, nil, false
	s.norm = normStats{}
	s.net, s.name = net, name
	s.h, s.w = net.Size()
	s.source = SourceClasses(net.Classes())
}

// SourceClasses names and colours a model's classes: the synthetic
// source domain's colours when the names match its classes, else the
// Pascal VOC palette (dataset.DefaultColor).
func SourceClasses(names []string) []dataset.Class {
	pal := map[string]color.RGBA{}
	if d, err := synth.Lookup("source"); err == nil {
		for _, k := range d.Classes {
			pal[k.Name] = color.RGBA{k.Color[0], k.Color[1], k.Color[2], 255}
		}
	}
	out := make([]dataset.Class, len(names))
	for i, name := range names {
		col, ok := pal[name]
		if !ok {
			col = dataset.DefaultColor(i)
		}
		out[i] = dataset.Class{Name: name, Color: col}
	}
	return out
}

func classInfos(cs []dataset.Class) []ClassInfo {
	out := make([]ClassInfo, len(cs))
	for i, c := range cs {
		out[i] = ClassInfo{Name: c.Name, Color: fmt.Sprintf("#%02x%02x%02x", c.Color.R, c.Color.G, c.Color.B)}
	}
	return out
}

// Info describes the model in its current mode.
func (s *Session) Info() ModelInfo {
	if s.net == nil {
		return ModelInfo{}
	}
	info := ModelInfo{Name: s.name, Classes: classInfos(s.Classes()), Source: classInfos(s.source), Kind: s.net.Kind(),
		Width: s.w, Height: s.h, Params: s.net.Params().Count(), Adapted: s.adapted}
	if sm, ok := s.net.(models.Sampled); ok {
		v := sm.Sampling()
		info.Sampling = &v
	}
	if sl, ok := s.net.(models.SamplingLimiter); ok {
		v := sl.SamplingLimits()
		info.SamplingLimits = &v
	}
	return info
}

// SetSampling sets an iterative model's sampler settings (steps,
// guidance, eta); a GAN has none.
func (s *Session) SetSampling(v models.Sampling) (ModelInfo, error) {
	if s.net == nil {
		return ModelInfo{}, ErrNoModel
	}
	sm, ok := s.net.(models.Sampled)
	if !ok {
		return ModelInfo{}, fmt.Errorf("a %s draws in one pass: it has no sampler settings", s.net.Kind())
	}
	if err := sm.SetSampling(v); err != nil {
		return ModelInfo{}, err
	}
	return s.Info(), nil
}

// Classes are the classes label maps use now: the target classes when the
// session generates through the affinity layer, else the source classes.
func (s *Session) Classes() []dataset.Class {
	if s.adapted && s.target != nil {
		return s.target.Classes
	}
	return s.source
}

// SetAdapted switches generation between the source classes (false) and
// the target classes through the affinity layer (true; needs a matrix).
func (s *Session) SetAdapted(on bool) (ModelInfo, error) {
	if s.net == nil {
		return ModelInfo{}, ErrNoModel
	}
	if on {
		if err := s.ensureLayer(); err != nil {
			return ModelInfo{}, err
		}
	}
	s.adapted = on
	return s.Info(), nil
}

// model is the network with the affinity layer in front when adapted.
func (s *Session) model() models.Conditioned {
	c := models.Conditioned{Net: s.net}
	if s.adapted && s.layer != nil {
		c.Layer = s.layer
	}
	return c
}

// Generate makes one image from a label map (H*W bytes at the model's size,
// Unlabelled for no class) with the noise of seed. It returns the image and
// the time it took (upload, forward and readback).
func (s *Session) Generate(labels []byte, seed uint64) (*image.RGBA, time.Duration, error) {
	return s.GenerateProgress(labels, seed, nil)
}

// GenerateProgress is Generate that reports an iterative model's steps
// with its current estimate of the image (a diffusion model's x0
// prediction), for a progressive preview. Stop cancels it between steps
// (the error is then context.Canceled).
func (s *Session) GenerateProgress(labels []byte, seed uint64, progress func(step, steps int, preview *image.RGBA)) (*image.RGBA, time.Duration, error) {
	s.stop.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return s.RenderImage(ctx, Render{Labels: labels, Seed: seed}, func(st Step) {
		if s.stop.Load() {
			cancel()
			return
		}
		if progress != nil {
			progress(st.Step, st.Steps, st.Preview)
		}
	})
}

// indices checks a label byte map against the model and widens it.
func (s *Session) indices(labels []byte) ([]int32, error) {
	if len(labels) != s.w*s.h {
		return nil, fmt.Errorf("label map has %d pixels, the model makes %dx%d = %d", len(labels), s.w, s.h, s.w*s.h)
	}
	n := len(s.Classes())
	idx := make([]int32, len(labels))
	for i, v := range labels {
		switch {
		case v == Unlabelled:
			idx[i] = dataset.Ignore
		case int(v) >= n:
			return nil, fmt.Errorf("label map pixel (%d,%d) has class %d; the palette has %d classes", i%s.w, i/s.w, v, n)
		default:
			idx[i] = int32(v)
		}
	}
	return idx, nil
}

// Stop asks a running Finetune to end after its current step, or a
// diffusion model's sampling to end after its current step. It may be
// called from any goroutine.
func (s *Session) Stop() { s.stop.Store(true) }

// Example is a label map to start painting from.
type Example struct {
	Name   string `json:"name"`
	Labels []byte `json:"-"`
}

// Examples returns up to n label maps at the model's size: the user's
// target maps when adapted (banded maps of the target classes when the
// set has none, as after loading an adapted model); synthetic source
// scenes when the model speaks the synthetic source vocabulary; else
// simple banded maps.
func (s *Session) Examples(n int) ([]Example, error) {
	if s.net == nil {
		return nil, ErrNoModel
	}
	if s.adapted && s.target != nil && len(s.target.Pairs) > 0 {
		var out []Example
		for _, p := range s.target.Pairs {
			if len(out) == n {
				break
			}
			out = append(out, Example{Name: p.Name, Labels: toBytes(p.Labels)})
		}
		return out, nil
	}
	if !s.adapted && sameNames(s.source, synth.SourceClasses) {
		ds, err := dataset.OpenSynth(dataset.SynthConfig{Domain: "source", N: n, Seed: 7, W: s.w, H: s.h})
		if err != nil {
			return nil, err
		}
		var out []Example
		for i := range n {
			smp, err := ds.Load(i)
			if err != nil {
				return nil, err
			}
			out = append(out, Example{Name: ds.ItemName(i), Labels: toBytes(smp.Label.Pix)})
		}
		return out, nil
	}
	var out []Example
	for k := range n {
		m := make([]byte, s.w*s.h)
		bands := 2 + k%3
		for i := range m {
			m[i] = byte(((i/s.w)*bands/s.h + k) % len(s.Classes()))
		}
		out = append(out, Example{Name: fmt.Sprintf("bands %d", k+1), Labels: m})
	}
	return out, nil
}

func sameNames(cs []dataset.Class, names []string) bool {
	if len(cs) != len(names) {
		return false
	}
	for i, c := range cs {
		if c.Name != names[i] {
			return false
		}
	}
	return true
}

func toBytes(pix []int32) []byte {
	out := make([]byte, len(pix))
	for i, v := range pix {
		if v < 0 || v >= MaxClasses {
			out[i] = Unlabelled
		} else {
			out[i] = byte(v)
		}
	}
	return out
}

// DecodeLabelPNG reads a label PNG in the active palette (gray: value =
// class, 255 = none; or RGB in the palette's colours, black = none) and
// resizes it (nearest) to the model's size.
func (s *Session) DecodeLabelPNG(data []byte, name string) ([]byte, error) {
	if s.net == nil {
		return nil, ErrNoModel
	}
	m, err := dataset.DecodeLabel(data, name, dataset.ColorFormat(s.Classes()))
	if err != nil {
		return nil, err
	}
	return toBytes(resizeLabels(m, s.w, s.h).Pix), nil
}

// EncodeLabelPNG writes a label byte map as the folder format's 8-bit gray PNG.
func (s *Session) EncodeLabelPNG(labels []byte) ([]byte, error) {
	if s.net == nil {
		return nil, ErrNoModel
	}
	idx, err := s.indices(labels)
	if err != nil {
		return nil, err
	}
	return dataset.EncodeLabel(&dataset.LabelMap{W: s.w, H: s.h, Pix: idx}, len(s.Classes()))
}

// resizeLabels resizes m to w x h by nearest neighbour (pixel centres).
func resizeLabels(m *dataset.LabelMap, w, h int) *dataset.LabelMap {
	if m.W == w && m.H == h {
		return m
	}
	out := &dataset.LabelMap{W: w, H: h, Pix: make([]int32, w*h)}
	for y := range h {
		sy := min((2*y+1)*m.H/(2*h), m.H-1)
		for x := range w {
			sx := min((2*x+1)*m.W/(2*w), m.W-1)
			out.Pix[y*w+x] = m.Pix[sy*m.W+sx]
		}
	}
	return out
}

// joinLimit shortens a list of messages for an error.
func joinLimit(msgs []string, n int) string {
	if len(msgs) > n {
		return strings.Join(msgs[:n], "; ") + fmt.Sprintf("; ... (%d more)", len(msgs)-n)
	}
	return strings.Join(msgs, "; ")
}
