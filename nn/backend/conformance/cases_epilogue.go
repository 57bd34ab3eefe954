package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// The conv epilogue of backend.ConvEpilogue, act(conv(x, w)*scale + shift),
// against the float64 convolution followed by the same map in float64.

// epilogueVariants cover each activation with and without scale and shift.
var epilogueVariants = []struct {
	name string
	e    backend.Epilogue
}{
	{"shift", backend.Epilogue{Shift: true}},
	{"scale_shift_relu", backend.Epilogue{Scale: true, Shift: true, Act: backend.ActReLU}},
	{"shift_leaky", backend.Epilogue{Shift: true, Act: backend.ActLeakyReLU, Slope: 0.2}},
	{"scale_relu6", backend.Epilogue{Scale: true, Act: backend.ActReLU6}},
	{"shift_tanh", backend.Epilogue{Shift: true, Act: backend.ActTanh}},
	{"act_only_leaky", backend.Epilogue{Act: backend.ActLeakyReLU, Slope: 0.01}},
}

// refActivation is the epilogue's activation in float64.
func refActivation(e backend.Epilogue, z float64) float64 {
	switch e.Act {
	case backend.ActReLU:
		return math.Max(z, 0)
	case backend.ActLeakyReLU:
		if z < 0 {
			return float64(e.Slope) * z
		}
		return z
	case backend.ActReLU6:
		return math.Min(math.Max(z, 0), 6)
	case backend.ActTanh:
		return math.Tanh(z)
	}
	return z
}

func epilogueOf(e *env) backend.ConvEpilogue {
	f, ok := e.b.(backend.ConvEpilogue)
	if !ok {
		e.fatalf("%s does not implement backend.ConvEpilogue", e.b.Name())
	}
	return f
}

// epilogueCase checks one convolution with one epilogue. The inputs are
// scaled so that relu6 clamps at both ends and tanh saturates somewhere.
func epilogueCase(name string, p backend.Conv, ep backend.Epilogue) Case {
	return Case{Name: "conv2d_epilogue/" + name, run: func(e *env) []output {
		nx, nw, ny := convSizes(p)
		x, w := e.normal(nx), e.normal(nw)
		var scale, shift []float32
		var sb, hb backend.Buffer
		if ep.Scale {
			scale = e.uniform(p.O, -2, 2)
			sb = e.upload(scale)
		}
		if ep.Shift {
			shift = e.uniform(p.O, -3, 3)
			hb = e.upload(shift)
		}
		y := e.alloc(ny)
		epilogueOf(e).Conv2DEpilogue(y, e.upload(x), e.upload(w), sb, hb, p, ep)
		conv, cs := refConv(f64(x), f64(w), p)
		want, scl := make([]float64, ny), make([]float64, ny)
		per := p.OH() * p.OW()
		for i, z := range conv {
			o := i / per % p.O
			s, sc := 1.0, cs[i]
			if scale != nil {
				s = float64(scale[o])
				sc *= math.Abs(s)
			}
			z *= s
			if shift != nil {
				z += float64(shift[o])
				sc += math.Abs(float64(shift[o]))
			}
			want[i], scl[i] = refActivation(ep, z), sc
		}
		return []output{{name: "y", got: e.download(y, ny), want: want, scale: scl, tol: contractionTol}}
	}}
}

// epilogueCases run every conv pattern with one epilogue variant in turn,
// and two patterns (a plain 3x3 and a depthwise one) with all of them.
func epilogueCases() []Case {
	var cs []Case
	for i, pc := range convPatterns() {
		v := epilogueVariants[i%len(epilogueVariants)]
		cs = append(cs, epilogueCase(pc.name+"/"+v.name, pc.p, v.e))
		if pc.name == "3x3_pad1" || pc.name == "depthwise_3x3" {
			for j, v := range epilogueVariants {
				if j != i%len(epilogueVariants) {
					cs = append(cs, epilogueCase(fmt.Sprintf("%s/%s", pc.name, v.name), pc.p, v.e))
				}
			}
		}
	}
	return cs
}
