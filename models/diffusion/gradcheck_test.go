package diffusion

import (
	"math"
	"math/rand/v2"
	"testing"

	"catsynth/nn"
)

type probe struct {
	name string
	t    *nn.Tensor
}

// gradcheck compares autograd gradients of sum(f() * proj) with finite
// differences at random entries of each probed tensor. One-sided
// differences on both sides detect a ReLU kink within eps, where the
// central difference is no reference; such probes are skipped (and
// counted).
func gradcheck(t *testing.T, r *rand.Rand, dev *nn.Device, f func() *nn.Tensor, probes []probe) {
	t.Helper()
	out0 := f()
	proj := randn(r, out0.Numel(), 1)
	pr := dev.FromData(proj, out0.Shape()...)
	loss := func() float64 {
		var v float64
		dev.NoGrad(func() {
			s := dev.Scope()
			out, _ := f().Data()
			s.Close()
			for i, o := range out {
				v += float64(o) * float64(proj[i])
			}
		})
		return v
	}
	for _, p := range probes {
		p.t.ZeroGrad() // tensors shared between checks
	}
	s := dev.Scope()
	nn.SumAll(nn.Mul(f(), pr)).Backward()
	s.Close()
	for _, p := range probes {
		if p.t.Grad() == nil {
			t.Errorf("%s: no gradient", p.name)
			continue
		}
		g, _ := p.t.Grad().Data()
		vals, _ := p.t.Data()
		const eps = 1e-3
		at := func(i int, d float32) float64 {
			orig := vals[i]
			vals[i] = orig + d
			p.t.Upload(vals)
			l := loss()
			vals[i] = orig
			p.t.Upload(vals)
			return l
		}
		bad, kinks := 0, 0
		for k := range min(len(vals), 10) {
			i := r.IntN(len(vals))
			if k == 0 {
				i = 0
			}
			l0, lp, lm := at(i, 0), at(i, eps), at(i, -eps)
			fwd, bwd, fd := (lp-l0)/eps, (l0-lm)/eps, (lp-lm)/(2*eps)
			if math.Abs(fwd-bwd) > 2e-2+5e-2*math.Abs(fd) {
				kinks++
				continue
			}
			if math.Abs(float64(g[i])-fd) > 2e-2+3e-2*math.Abs(fd) {
				bad++
				t.Errorf("%s[%d]: autograd %g, finite difference %g", p.name, i, g[i], fd)
			}
		}
		if kinks > 5 {
			t.Errorf("%s: %d of the probes straddle a kink", p.name, kinks)
		}
		t.Logf("%s: %d off, %d skipped at kinks", p.name, bad, kinks)
	}
}

// The SPADE group norm, an SDMResBlock around it (upsampling, learned
// skip, scale-shift) and an attention block have autograd gradients that
// agree with finite differences, for inputs, label map, embedding and
// weights. The label map is at twice x's size, so its nearest resize is
// in the path too.
func TestSPADEGroupNormGradcheck(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	cfg := Tiny(3)
	cfg.NumChannels, cfg.SPADEHidden, cfg.NormGroups, cfg.NumHeadChannels = 2, 5, 2, 2
	ps := nn.NewParams(dev, seed)
	const b, cin, cout, h, w = 2, 4, 2, 4, 4
	x := dev.FromData(randn(r, b*cin*h*w, 1), b, cin, h, w).SetRequiresGrad(true)
	y := dev.FromData(randn(r, b*3*4*h*w, 1), b, 3, 2*h, 2*w).SetRequiresGrad(true)
	emb := dev.FromData(randn(r, b*4*cfg.NumChannels, 1), b, 4*cfg.NumChannels).SetRequiresGrad(true)
	cnd := func() *cond {
		return &cond{y: y, resized: map[[2]int]*nn.Tensor{}, embAct: nn.Silu(emb)}
	}
	norm := newSPADEGroupNorm(ps.Sub("norm"), cfg, cin)
	blk := newSDMResBlock(ps.Sub("block"), cfg, cin, cout, up)
	// out_layers.2 starts at zero: give it values so gradients pass.
	blk.outConv.W.Upload(randn(r, blk.outConv.W.Numel(), 0.3))
	attn := newAttention(ps.Sub("attn"), cfg, cin)
	attn.projW.Upload(randn(r, attn.projW.Numel(), 0.5))
	t.Run("spade-group-norm", func(t *testing.T) {
		gradcheck(t, r, dev, func() *nn.Tensor { return norm.apply(x, cnd()) }, []probe{
			{"x", x}, {"y", y}, {"mlp_shared.0.weight", norm.shared.W}, {"mlp_gamma.weight", norm.gamma.W}, {"mlp_beta.bias", norm.beta.B}})
	})
	t.Run("sdm-resblock-up", func(t *testing.T) {
		sn := blk.inNorm.(*spadeGroupNorm)
		gradcheck(t, r, dev, func() *nn.Tensor { return blk.forward(x, cnd()) }, []probe{
			{"x", x}, {"y", y}, {"emb", emb}, {"in_norm.mlp_gamma.weight", sn.gamma.W}, {"in_layers.1.weight", blk.inConv.W},
			{"emb_layers.1.weight", blk.emb.W}, {"skip_connection.weight", blk.skip.W}})
	})
	t.Run("attention", func(t *testing.T) {
		gradcheck(t, r, dev, func() *nn.Tensor { return attn.forward(x, nil) }, []probe{
			{"x", x}, {"qkv.weight", attn.qkvW}, {"qkv.bias", attn.qkvB}, {"norm.weight", attn.norm.W}})
	})
}
