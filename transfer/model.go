package transfer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"catsynth/affinity"
	"catsynth/models/gan"
	"catsynth/nn"
)

// InputPrefix names the finetune baseline's input layer ("input.weight",
// shape (T, S)) inside the generator's parameters.
const InputPrefix = "input"

// Model is a generator and discriminator being adapted to T target classes.
//
// G keeps the source architecture: it is conditioned on S source channels,
// and its LabelMap hook (A for CAT, a free T x S layer for finetune) turns
// the target one-hot map (B, T, H, W) into them, in front of fc and every
// SPADE. For scratch G is built for T channels directly and has no hook.
// The label-map parameters live in G.Params (affinity.weight or
// affinity.logits, input.weight), so they are checkpointed and averaged
// with G.
type Model struct {
	Dev     *nn.Device
	Options Options
	Target  []string // the T target class names
	Source  []string // the S source class names (scratch: nil)
	G       *gan.Generator
	D       *gan.Discriminator
	Layer   *affinity.Layer // CAT
	Input   *nn.Tensor      // finetune, and CAT with a free A: the (T, S) input layer
	InitA   *affinity.Matrix
	EMA     *nn.EMA // nil when not kept (affinity-only)
	Steps   int

	optG, optD, optA *nn.Adam
	trainD           bool
	countG, countD   int
	rng              *rand.Rand
}

// New builds a transfer model from a source: CAT needs A (T x S, in the
// order of target and src.Classes; see affinity.Matrix.Reorder); the
// baselines ignore it. Weights: G from the source's EMA generator, D from
// its discriminator (except a re-initialised head), unless o.Init is
// InitScratch. Random parts are drawn from o.GAN.Seed.
func New(dev *nn.Device, src *Source, target []string, A *affinity.Matrix, o Options) (*Model, error) {
	m, err := build(dev, src.G, src.D, src.Classes, target, A, o)
	if err != nil {
		return nil, err
	}
	if m.Options.Init != InitScratch {
		if err := m.loadSource(src); err != nil {
			m.Release()
			return nil, err
		}
	}
	if err := m.setup(); err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

// checkTarget refuses empty, blank or duplicate target class names.
func checkTarget(target []string) error {
	if len(target) == 0 {
		return fmt.Errorf("transfer: no target classes")
	}
	seen := map[string]int{}
	for i, n := range target {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("transfer: target class %d has an empty name", i)
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("transfer: target class %q is listed twice (classes %d and %d)", n, j, i)
		}
		seen[n] = i
	}
	return nil
}

// build creates G, D and the label-map layer with fresh weights.
func build(dev *nn.Device, gc gan.GeneratorConfig, dc gan.DiscriminatorConfig, source, target []string, A *affinity.Matrix, o Options) (*Model, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if err := checkTarget(target); err != nil {
		return nil, err
	}
	T, S := len(target), gc.LabelNC
	m := &Model{Dev: dev, Options: o, Target: append([]string(nil), target...),
		rng: rand.New(rand.NewPCG(o.GAN.Seed, 0x7a11))}
	if o.Init != InitScratch {
		m.Source = append([]string(nil), source...)
	}
	if o.Init == InitCAT {
		if A == nil {
			return nil, fmt.Errorf("transfer: CAT needs an affinity matrix")
		}
		if A.T() != T || A.S() != S {
			return nil, fmt.Errorf("transfer: affinity matrix is %d x %d, but there are %d target and %d source classes", A.T(), A.S(), T, S)
		}
		if err := A.CheckClasses(target, source); err != nil {
			return nil, fmt.Errorf("transfer: affinity matrix does not match the classes: %w", err)
		}
		if _, err := A.Validate(); err != nil {
			return nil, err
		}
		m.InitA = A.Clone()
	}
	if o.Init == InitScratch {
		gc.LabelNC, gc.ClassNames = T, append([]string(nil), target...)
	}
	if o.Head == HeadReinit {
		dc.NumClasses = T
	} else {
		dc.NumClasses = S
	}
	if err := dc.CheckSize(gc.H, gc.W); err != nil {
		return nil, err
	}
	g, err := gan.NewGenerator(dev, gc, o.GAN.Seed)
	if err != nil {
		return nil, err
	}
	m.G = g
	d, err := gan.NewDiscriminator(dev, dc, o.GAN.Seed+1)
	if err != nil {
		g.Release()
		return nil, err
	}
	m.D = d
	err = nn.Catch(func() {
		switch o.Init {
		case InitCAT:
			if o.FreeA {
				m.newInput(g, T, S, func(*rand.Rand, []int) []float32 { return A.Flat() })
				break
			}
			var lerr error
			m.Layer, lerr = affinity.NewLayer(g.Params.Sub(affinity.ParamPrefix), A, affinity.LayerOptions{Train: o.TrainA, Temperature: o.Temperature})
			if lerr != nil {
				panic(lerr)
			}
			g.LabelMap, g.InputNC = m.Layer.Forward, T
		case InitFinetune:
			// PyTorch's default init of a new bias-free 1x1 conv T -> S:
			// uniform in +-1/sqrt(fan_in), fan_in = T.
			b := 1 / math.Sqrt(float64(T))
			m.newInput(g, T, S, nn.Uniform(-b, b))
		}
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("transfer: %w", err)
	}
	return m, nil
}

// newInput puts a free (T, S) input layer with initial values init in front
// of g's label inputs.
func (m *Model) newInput(g *gan.Generator, T, S int, init nn.Init) {
	m.Input = g.Params.Sub(InputPrefix).New("weight", init, T, S)
	g.LabelMap, g.InputNC = m.inputForward, T
}

// inputForward applies the free input layer (finetune, or CAT with FreeA), like
// affinity.Layer.Forward without the row constraint.
func (m *Model) inputForward(y *nn.Tensor) *nn.Tensor {
	T, S := m.Input.Dim(0), m.Input.Dim(1)
	b, h, w := y.Dim(0), y.Dim(2), y.Dim(3)
	out := nn.MatMul(m.Input, nn.Reshape(y, b, T, h*w), true, false)
	return nn.Reshape(out, b, S, h, w)
}

// isLabelMapParam reports whether a G parameter belongs to the label-map
// layer (A or the finetune input layer) rather than the source network.
func isLabelMapParam(name string) bool {
	return strings.HasPrefix(name, affinity.ParamPrefix+".") || strings.HasPrefix(name, InputPrefix+".")
}

// isSPADEConv reports whether a G parameter is one of the convolutions of a
// SPADE/CLADE layer that read the label map.
func isSPADEConv(name string) bool {
	return strings.Contains(name, ".mlp_shared.") || strings.Contains(name, ".mlp_gamma.") || strings.Contains(name, ".mlp_beta.")
}

// loadSource copies the source weights: G from netEMA.* (the label-map
// layer excepted), D from netD.* (the head excepted when re-initialised).
func (m *Model) loadSource(src *Source) error {
	var gp []*nn.Param
	for _, p := range m.G.Params.All() {
		if !isLabelMapParam(p.Name) {
			gp = append(gp, p)
		}
	}
	if err := src.ck.LoadInto(prefixed("netEMA.", gp), nn.LoadOptions{AllowUnknown: true}); err != nil {
		return err
	}
	var dp []*nn.Param
	for _, p := range m.D.Params.All() {
		if m.Options.Head == HeadReinit && strings.HasPrefix(p.Name, "layer_up_last.") {
			continue
		}
		dp = append(dp, p)
	}
	return src.ck.LoadInto(prefixed("netD.", dp), nn.LoadOptions{AllowUnknown: true})
}

// setup freezes what is not trained and creates the optimizers and EMA.
func (m *Model) setup() error {
	o := m.Options
	cfg := o.GAN
	lrG, lrD := orDefault(cfg.LRG, 1e-4), orDefault(cfg.LRD, 4e-4)
	beta2 := orDefault(cfg.Beta2, 0.999)
	var gTrain, aTrain []*nn.Tensor
	for _, p := range m.G.Params.All() {
		if !p.Trainable {
			continue
		}
		switch {
		case isLabelMapParam(p.Name):
			aTrain = append(aTrain, p.T)
		case o.Train == TrainAll || (o.TrainSPADE && isSPADEConv(p.Name)):
			gTrain = append(gTrain, p.T)
		default:
			p.T.SetRequiresGrad(false)
		}
	}
	m.trainD = o.Train == TrainAll
	m.countG = numel(gTrain) + numel(aTrain)
	if m.trainD {
		m.countD = numel(m.D.Params.Trainable())
	} else {
		for _, t := range m.D.Params.Trainable() {
			t.SetRequiresGrad(false)
		}
	}
	return nn.Catch(func() {
		adam := func(lr float32) nn.AdamConfig {
			return nn.AdamConfig{LR: lr, Beta1: cfg.Beta1, Beta2: beta2, Eps: 1e-8}
		}
		if len(gTrain) > 0 {
			m.optG = nn.NewAdam(gTrain, adam(lrG))
		}
		if len(aTrain) > 0 {
			m.optA = nn.NewAdam(aTrain, adam(o.LRA))
		}
		if m.trainD {
			m.optD = nn.NewAdam(m.D.Params.Trainable(), adam(lrD))
			m.EMA = nn.NewEMA(m.G.Params, orDefault(cfg.EMADecay, 0.999))
		}
	})
}

func orDefault(v, def float32) float32 {
	if v == 0 {
		return def
	}
	return v
}

// TrainableCount is the number of scalars the optimizers update in G (A
// included) and in D.
func (m *Model) TrainableCount() (g, d int) { return m.countG, m.countD }

func numel(ts []*nn.Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Numel()
	}
	return n
}

// Release frees every tensor of the model.
func (m *Model) Release() {
	for _, o := range []*nn.Adam{m.optG, m.optD, m.optA} {
		if o != nil {
			o.Release()
		}
	}
	if m.EMA != nil {
		m.EMA.Release()
	}
	if m.G != nil {
		m.G.Release()
	}
	if m.D != nil {
		m.D.Release()
	}
}

// Matrix returns the current A (CAT; nil otherwise), from the averaged
// weights when an EMA is kept.
func (m *Model) Matrix() (*affinity.Matrix, error) {
	if m.Layer == nil {
		return nil, nil
	}
	if m.EMA != nil {
		m.EMA.Swap()
		defer m.EMA.Swap()
	}
	return m.Layer.Matrix()
}
