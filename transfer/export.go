package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"catsynth/affinity"
	"catsynth/models"
	"catsynth/nn"
)

// Metadata keys of transfer files (besides the family's and nn's).
const (
	MetaOptions   = "transfer"       // Options JSON
	MetaTarget    = "target_classes" // JSON array (state files)
	MetaSource    = "source_classes" // JSON array
	MetaAffinity  = "affinity"       // affinity JSON of the A folded into a model file
	MetaInitA     = "affinity_init"  // affinity JSON of the initial A (state files)
	MetaLossTrace = "losses"         // JSON array of the steps' losses (state files)
	MetaModelKind = "model_kind"     // the network's kind (state files; "" in older ones: the first family)
	KindState     = "cat-transfer-state"
)

// Fold returns a network conditioned on T target channels that computes
// exactly what net (conditioned on S channels) computes behind a linear
// label map y_s = W^T y_t, W (T, S) row-major. Every convolution that reads
// the label map (net.LabelConvs) is linear in it and sees [extra, y_s] (a
// GAN's noise first, resized nearest, which commutes with a per-pixel
// channel map, and zero-padded, which maps to zero), so its weight
// (O, X+S, k, k) becomes (O, X+T, k, k) with
//
//	w'[o, X+t] = sum_s W[t, s] * w[o, X+s],   w'[o, c<X] = w[o, c].
//
// Every other parameter is copied; net's label-layer tensors are dropped.
// The result is built on dev (target names, eval mode), and the caller
// releases it.
func Fold(dev *nn.Device, net models.Model, W []float32, target []string) (models.Model, error) {
	T, S := len(target), len(net.Classes())
	if len(W) != T*S {
		return nil, fmt.Errorf("transfer: fold: %d weights for %d x %d", len(W), T, S)
	}
	convs, X := net.LabelConvs()
	folds := map[string]bool{}
	for _, n := range convs {
		folds[n] = true
	}
	byName := map[string]*nn.Param{}
	for _, p := range net.Params().All() {
		byName[p.Name] = p
	}
	out, err := net.WithClasses(dev, target, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range out.Params().All() {
		src, ok := byName[p.Name]
		if !ok {
			out.Release()
			return nil, fmt.Errorf("transfer: fold: parameter %q missing", p.Name)
		}
		data, err := src.T.Data()
		if err != nil {
			out.Release()
			return nil, err
		}
		have, want := src.T.Shape(), p.T.Shape()
		if !folds[p.Name] {
			if !sameShape(have, want) {
				out.Release()
				return nil, fmt.Errorf("transfer: fold: %s has shape %v, the T-class network %v", p.Name, have, want)
			}
			p.T.Upload(data)
			continue
		}
		if len(have) != 4 || len(want) != 4 || have[0] != want[0] || have[2] != want[2] || have[3] != want[3] ||
			have[1] != X+S || want[1] != X+T {
			out.Release()
			return nil, fmt.Errorf("transfer: fold: %s has shape %v, cannot become %v", p.Name, have, want)
		}
		p.T.Upload(foldConv(data, W, have[0], X, S, T, have[2]*have[3]))
	}
	out.Params().SetTraining(false)
	return out, nil
}

// foldConv folds W (T x S) into one conv weight (O, X+S, k) -> (O, X+T, k).
func foldConv(data, W []float32, O, X, S, T, k int) []float32 {
	folded := make([]float32, O*(X+T)*k)
	for o := range O {
		srcO := data[o*(X+S)*k : (o+1)*(X+S)*k]
		dst := folded[o*(X+T)*k : (o+1)*(X+T)*k]
		copy(dst[:X*k], srcO[:X*k])
		for t := range T {
			d := dst[(X+t)*k : (X+t+1)*k]
			for s := range S {
				a := W[t*S+s]
				if a == 0 {
					continue
				}
				sv := srcO[(X+s)*k : (X+s+1)*k]
				for i := range d {
					d[i] += a * sv[i]
				}
			}
		}
	}
	return folded
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

// Export returns the adapted network as an ordinary T-class model (the
// averaged weights when kept; the label layer folded in, see Fold) and the
// A it folded (CAT; nil otherwise). The caller releases it.
func (m *Model) Export() (models.Model, *affinity.Matrix, error) {
	var out models.Model
	var A *affinity.Matrix
	err := m.Tuner.Averaged(func() error {
		net := m.Tuner.Net()
		if m.Options.Init == InitScratch {
			var err error
			out, err = copyNet(m.Dev, net)
			return err
		}
		var W []float32
		var err error
		if m.Layer != nil {
			if A, err = m.Layer.Matrix(); err != nil {
				return err
			}
			W = A.Flat()
		} else if W, err = m.Input.Weights(); err != nil {
			return err
		}
		out, err = Fold(m.Dev, net, W, m.Target)
		return err
	})
	return out, A, err
}

// copyNet copies a network's weights into a new one (scratch's export).
func copyNet(dev *nn.Device, src models.Model) (models.Model, error) {
	g, err := src.WithClasses(dev, src.Classes(), 0)
	if err != nil {
		return nil, err
	}
	sp := src.Params().All()
	for i, p := range g.Params().All() {
		p.T.CopyFrom(sp[i].T)
	}
	g.Params().SetTraining(false)
	return g, nil
}

// SaveModel writes the adapted network (Export) as a model file of its
// family that `catsynth generate` reads, with the folded A, the options
// and the source classes in its metadata. Atomic.
func (m *Model) SaveModel(path string, f16 bool) error {
	g, A, err := m.Export()
	if err != nil {
		return err
	}
	defer g.Release()
	meta := map[string]string{models.MetaStep: strconv.Itoa(m.Steps())}
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
	return g.Save(path, f16, meta)
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

// SaveState writes everything Resume needs (the finetuner's state: for the
// GAN G with the label layer, D and the EMA; options, class names, the
// initial A, the step and the loss trace). Optimizer moments are not kept.
func (m *Model) SaveState(path string, trace []models.Losses) error {
	meta, err := m.Tuner.StateMeta()
	if err != nil {
		return err
	}
	meta[models.MetaKind], meta[models.MetaStep], meta[MetaModelKind] = KindState, strconv.Itoa(m.Steps()), m.Kind
	if err := m.commonMeta(meta); err != nil {
		return err
	}
	b, err := json.Marshal(trace)
	if err != nil {
		return err
	}
	meta[MetaLossTrace] = string(b)
	if m.InitA != nil {
		var buf bytes.Buffer
		if err := m.InitA.WriteJSON(&buf); err != nil {
			return err
		}
		meta[MetaInitA] = buf.String()
	}
	return nn.SaveParams(path, m.Tuner.State(), nn.SaveOptions{Metadata: meta})
}

// Resume rebuilds a model from a SaveState file and returns the loss trace
// so far.
func Resume(dev *nn.Device, path string) (*Model, []models.Losses, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	if k := ck.Metadata[models.MetaKind]; k != KindState {
		return nil, nil, fmt.Errorf("transfer: %s is not a transfer state file (kind %q)", path, k)
	}
	var o Options
	var source, target []string
	var trace []models.Losses
	for _, x := range []struct {
		key string
		dst any
	}{{MetaOptions, &o}, {MetaSource, &source}, {MetaTarget, &target}, {MetaLossTrace, &trace}} {
		raw := ck.Metadata[x.key]
		if raw == "" {
			return nil, nil, fmt.Errorf("transfer: %s: metadata %q missing", path, x.key)
		}
		if err := json.Unmarshal([]byte(raw), x.dst); err != nil {
			return nil, nil, fmt.Errorf("transfer: %s: metadata %q: %w", path, x.key, err)
		}
	}
	var A *affinity.Matrix
	if s := ck.Metadata[MetaInitA]; s != "" {
		if A, _, err = affinity.ReadJSON(bytes.NewReader([]byte(s)), path+":"+MetaInitA); err != nil {
			return nil, nil, err
		}
	}
	step, err := strconv.Atoi(ck.Metadata[models.MetaStep])
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: bad step %q", path, ck.Metadata[models.MetaStep])
	}
	if o.Init == InitScratch {
		source = nil
	}
	m, spec, err := prepare(ck.Metadata[MetaModelKind], source, target, A, o)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: %w", path, err)
	}
	t, err := models.ResumeFinetuner(dev, ck, m.Kind, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: %w", path, err)
	}
	m.Dev, m.Tuner = dev, t
	if err := ck.LoadInto(t.State(), nn.LoadOptions{}); err != nil {
		m.Release()
		return nil, nil, err
	}
	t.SetSteps(step)
	return m, trace, nil
}
