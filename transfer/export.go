package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

	"catsynth/affinity"
	"catsynth/models/gan"
	"catsynth/nn"
)

// Metadata keys of transfer files (besides gan's and nn's).
const (
	MetaOptions  = "transfer"       // Options JSON
	MetaTarget   = "target_classes" // JSON array (state files)
	MetaSource   = "source_classes" // JSON array
	MetaAffinity = "affinity"       // affinity JSON of the A folded into a model file
	MetaInitA    = "affinity_init"  // affinity JSON of the initial A (state files)
	KindState    = "cat-transfer-state"
)

// Fold returns the parameters of a generator conditioned on T target
// channels that computes exactly what the source-architecture generator
// with params (conditioned on S channels) computes behind a linear label
// map y_s = W^T y_t, W (T, S) row-major. Every layer that reads the
// conditioning map (fc, and the first convolution of every SPADE/CLADE) is
// linear in it and sees [z, y_s] (z first, resized nearest, which commutes
// with a per-pixel channel map, and zero-padded, which maps to zero), so
// its weight (O, Z+S, k, k) becomes (O, Z+T, k, k) with
//
//	w'[o, Z+t] = sum_s W[t, s] * w[o, Z+s],   w'[o, c<Z] = w[o, c].
//
// params may include the label-map layer's own tensors; they are dropped.
// The result is built on dev as a new generator (cfg with LabelNC = T and
// the target names), which the caller releases.
func Fold(dev *nn.Device, params []*nn.Param, cfg gan.GeneratorConfig, W []float32, target []string) (*gan.Generator, error) {
	T, S, Z := len(target), cfg.LabelNC, cfg.ZDim
	if len(W) != T*S {
		return nil, fmt.Errorf("transfer: fold: %d weights for %d x %d", len(W), T, S)
	}
	byName := map[string]*nn.Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	out := cfg
	out.LabelNC, out.ClassNames = T, append([]string(nil), target...)
	g, err := gan.NewGenerator(dev, out, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range g.Params.All() {
		src, ok := byName[p.Name]
		if !ok {
			g.Release()
			return nil, fmt.Errorf("transfer: fold: parameter %q missing", p.Name)
		}
		data, err := src.T.Data()
		if err != nil {
			g.Release()
			return nil, err
		}
		have, want := src.T.Shape(), p.T.Shape()
		if sameShape(have, want) {
			p.T.Upload(data)
			continue
		}
		if len(have) != 4 || len(want) != 4 || have[0] != want[0] || have[2] != want[2] || have[3] != want[3] ||
			have[1] != Z+S || want[1] != Z+T {
			g.Release()
			return nil, fmt.Errorf("transfer: fold: %s has shape %v, cannot become %v", p.Name, have, want)
		}
		k := have[2] * have[3]
		folded := make([]float32, want[0]*want[1]*k)
		for o := range have[0] {
			srcO := data[o*(Z+S)*k : (o+1)*(Z+S)*k]
			dst := folded[o*(Z+T)*k : (o+1)*(Z+T)*k]
			copy(dst[:Z*k], srcO[:Z*k])
			for t := range T {
				d := dst[(Z+t)*k : (Z+t+1)*k]
				for s := range S {
					a := W[t*S+s]
					if a == 0 {
						continue
					}
					sv := srcO[(Z+s)*k : (Z+s+1)*k]
					for i := range d {
						d[i] += a * sv[i]
					}
				}
			}
		}
		p.T.Upload(folded)
	}
	g.Params.SetTraining(false)
	return g, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Export returns the adapted generator as an ordinary T-class generator
// (the averaged weights when kept; the label map folded in, see Fold) and
// the A it folded (CAT; nil otherwise). The caller releases it.
func (m *Model) Export() (*gan.Generator, *affinity.Matrix, error) {
	if m.EMA != nil {
		m.EMA.Swap()
		defer m.EMA.Swap()
	}
	if m.Options.Init == InitScratch {
		return copyGenerator(m.Dev, m.G)
	}
	var W []float32
	var A *affinity.Matrix
	var err error
	if m.Layer != nil {
		if A, err = m.Layer.Matrix(); err != nil {
			return nil, nil, err
		}
		W = A.Flat()
	} else if W, err = m.Input.Data(); err != nil {
		return nil, nil, err
	}
	g, err := Fold(m.Dev, m.G.Params.All(), m.G.Config, W, m.Target)
	return g, A, err
}

func copyGenerator(dev *nn.Device, src *gan.Generator) (*gan.Generator, *affinity.Matrix, error) {
	g, err := gan.NewGenerator(dev, src.Config, 0)
	if err != nil {
		return nil, nil, err
	}
	sp := src.Params.All()
	for i, p := range g.Params.All() {
		p.T.CopyFrom(sp[i].T)
	}
	g.Params.SetTraining(false)
	return g, nil, nil
}

// SaveModel writes the adapted generator (Export) as a gan model file that
// gan.LoadGenerator and `catsynth generate` read, with the folded A, the
// options and the source classes in its metadata. Atomic.
func (m *Model) SaveModel(path string, f16 bool) error {
	g, A, err := m.Export()
	if err != nil {
		return err
	}
	defer g.Release()
	meta := map[string]string{gan.MetaKind: gan.KindGenerator, gan.MetaStep: strconv.Itoa(m.Steps)}
	if err := m.commonMeta(meta); err != nil {
		return err
	}
	if A != nil {
		var buf bytes.Buffer
		if err := A.WriteJSON(&buf); err != nil {
			return err
		}
		meta[MetaAffinity] = buf.String()
	}
	return nn.SaveParams(path, g.Params.All(), nn.SaveOptions{Config: g.Config, ClassNames: g.Config.ClassNames, Metadata: meta, F16: f16})
}

func (m *Model) commonMeta(meta map[string]string) error {
	for k, v := range map[string]any{MetaOptions: m.Options, MetaSource: m.Source, MetaTarget: m.Target} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		meta[k] = string(b)
	}
	return nil
}

func (m *Model) stateParams() []*nn.Param {
	ps := prefixed("netG.", m.G.Params.All())
	ps = append(ps, prefixed("netD.", m.D.Params.All())...)
	if m.EMA != nil {
		ps = append(ps, prefixed("netEMA.", m.EMA.Shadow())...)
	}
	return ps
}

// SaveState writes everything Resume needs (G with the label-map layer,
// D, the EMA, configs, options, class names, the initial A, the step and
// the loss trace). Adam's moments are not saved (as in package gan).
func (m *Model) SaveState(path string, trace []gan.Losses) error {
	meta := map[string]string{gan.MetaKind: KindState, gan.MetaStep: strconv.Itoa(m.Steps)}
	if err := m.commonMeta(meta); err != nil {
		return err
	}
	for k, v := range map[string]any{gan.MetaDConfig: m.D.Config, gan.MetaLossTrace: trace} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		meta[k] = string(b)
	}
	if m.InitA != nil {
		var buf bytes.Buffer
		if err := m.InitA.WriteJSON(&buf); err != nil {
			return err
		}
		meta[MetaInitA] = buf.String()
	}
	return nn.SaveParams(path, m.stateParams(), nn.SaveOptions{Config: m.G.Config, Metadata: meta})
}

// Resume rebuilds a model from a SaveState file and returns the loss trace
// so far.
func Resume(dev *nn.Device, path string) (*Model, []gan.Losses, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	if k := ck.Metadata[gan.MetaKind]; k != KindState {
		return nil, nil, fmt.Errorf("transfer: %s is not a transfer state file (kind %q)", path, k)
	}
	var gc gan.GeneratorConfig
	var dc gan.DiscriminatorConfig
	var o Options
	var source, target []string
	var trace []gan.Losses
	for _, x := range []struct {
		key, raw string
		dst      any
	}{{nn.MetaConfig, string(ck.Config), &gc}, {gan.MetaDConfig, ck.Metadata[gan.MetaDConfig], &dc},
		{MetaOptions, ck.Metadata[MetaOptions], &o}, {MetaSource, ck.Metadata[MetaSource], &source},
		{MetaTarget, ck.Metadata[MetaTarget], &target}, {gan.MetaLossTrace, ck.Metadata[gan.MetaLossTrace], &trace}} {
		if x.raw == "" {
			return nil, nil, fmt.Errorf("transfer: %s: metadata %q missing", path, x.key)
		}
		if err := json.Unmarshal([]byte(x.raw), x.dst); err != nil {
			return nil, nil, fmt.Errorf("transfer: %s: metadata %q: %w", path, x.key, err)
		}
	}
	var A *affinity.Matrix
	if s := ck.Metadata[MetaInitA]; s != "" {
		if A, _, err = affinity.ReadJSON(bytes.NewReader([]byte(s)), path+":"+MetaInitA); err != nil {
			return nil, nil, err
		}
	}
	step, err := strconv.Atoi(ck.Metadata[gan.MetaStep])
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: bad step %q", path, ck.Metadata[gan.MetaStep])
	}
	if o.Init == InitScratch {
		source = nil
	}
	m, err := build(dev, gc, dc, source, target, A, o)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: %w", path, err)
	}
	if err := m.setup(); err != nil {
		m.Release()
		return nil, nil, err
	}
	if err := ck.LoadInto(m.stateParams(), nn.LoadOptions{}); err != nil {
		m.Release()
		return nil, nil, err
	}
	m.Steps = step
	m.rng = rand.New(rand.NewPCG(o.GAN.Seed, 0x7a11+uint64(step)))
	return m, trace, nil
}
