package gan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"

	"catsynth/models"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// UntrainedModel returns a freshly initialised (untrained) generator file
// of the named preset for classes, with weights drawn from seed: for tests
// of the plumbing when no trained model is at hand. Its BatchNorm running
// statistics are calibrated on 20 forward passes over random banded label
// maps (an untrained model with identity statistics saturates its tanh, so
// no gradient would reach an affinity layer). Its images are colour
// patterns, but deterministic ones.
func UntrainedModel(preset string, classes []string, seed uint64) ([]byte, error) {
	p, err := LookupPreset(preset)
	if err != nil {
		return nil, err
	}
	gc, _, err := p.Configs(classes, 0, 0, "")
	if err != nil {
		return nil, err
	}
	dev, err := nn.Open("cpu")
	if err != nil {
		return nil, err
	}
	g, err := NewGenerator(dev, gc, seed)
	if err != nil {
		return nil, err
	}
	defer g.Release()
	if err := calibrate(g, seed); err != nil {
		return nil, err
	}
	var tensors []safetensors.Tensor
	for _, p := range g.Params().All() {
		data, err := p.T.Data()
		if err != nil {
			return nil, err
		}
		tensors = append(tensors, safetensors.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: data})
	}
	cfg, _ := json.Marshal(gc)
	names, _ := json.Marshal(classes)
	meta := map[string]string{nn.MetaFormat: "pt", nn.MetaConfig: string(cfg), nn.MetaClassNames: string(names), MetaKind: KindGenerator}
	var buf bytes.Buffer
	err = safetensors.Encode(&buf, tensors, meta, safetensors.WriteOptions{})
	return buf.Bytes(), err
}

// calibrate runs training-mode forwards (no gradients) so that BatchNorm's
// running statistics describe the untrained network's activations.
func calibrate(g *Generator, seed uint64) error {
	c := g.Config
	dev := g.Params().Device()
	r := rand.New(rand.NewPCG(seed, 99))
	g.Params().SetTraining(true)
	defer g.Params().SetTraining(false)
	const b = 4
	var err error
	dev.NoGrad(func() {
		err = nn.Catch(func() {
			for range 20 {
				sc := dev.Scope()
				idx := make([]float32, b*c.H*c.W)
				for i := range b {
					k0, k1 := r.IntN(c.LabelNC), r.IntN(c.LabelNC)
					split := r.IntN(c.H)
					for p := range c.H * c.W {
						v := k0
						if p/c.W >= split {
							v = k1
						}
						idx[i*c.H*c.W+p] = float32(v)
					}
				}
				y := nn.OneHot(dev.FromData(idx, b, c.H, c.W), c.LabelNC)
				var z *nn.Tensor
				if c.ZDim > 0 {
					z = models.NoiseBatch(dev, b, c.ZDim, r.Uint64())
				}
				g.Forward(y, z)
				sc.Close()
			}
		})
	})
	return err
}
