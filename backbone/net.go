package backbone

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"catsynth/nn"
)

// Net is a Spec built on a device: its parameters (loaded by LoadInto or
// set by an importer) and, once compiled, the inference plan with batch
// norms folded into the convolutions before them.
type Net struct {
	Spec   Spec
	Layout *Layout

	dev  *nn.Device
	ps   *nn.Params // the Spec's parameters, PyTorch names
	plan []step     // nil until compiled
	aux  *nn.Params // tensors of the plan (folded weights), rebuilt by Compile
	// alias maps a folded conv's name to the batch norm that now yields its output.
	folded map[string]string
}

// step computes one node's output from its inputs.
type step struct {
	nd     *Node
	out    string     // name the result is stored under
	w, b   *nn.Tensor // conv/dense weight and bias (folded), or bn scale and shift
	divide *nn.Tensor // avgpool with ExcludePad: fraction of real pixels per window (1, 1, OH, OW)
	pad    [4]int
}

// New builds an uncompiled network on dev with the Spec's parameters
// registered as buffers (weights zero, running variances one). Load weights
// into Params() (or with LoadInto) before the first Forward.
func New(dev *nn.Device, spec Spec) (*Net, error) {
	l, err := spec.Infer()
	if err != nil {
		return nil, err
	}
	n := &Net{Spec: spec, Layout: l, dev: dev, ps: nn.NewParams(dev, 0)}
	n.ps.SetTraining(false)
	if err := nn.Catch(func() {
		for _, p := range l.Params {
			init := nn.ZerosInit
			if len(p.Name) > 12 && p.Name[len(p.Name)-12:] == ".running_var" {
				init = nn.OnesInit
			}
			n.ps.NewBuffer(p.Name, init, p.Shape...)
		}
	}); err != nil {
		n.ps.Release()
		return nil, fmt.Errorf("backbone %q: %w", spec.Name, err)
	}
	return n, nil
}

// Params returns the network's named tensors (for checkpoints).
func (n *Net) Params() []*nn.Param { return n.ps.All() }

// Device returns the device the network lives on.
func (n *Net) Device() *nn.Device { return n.dev }

// NumParams counts the scalars of the Spec's parameters (before folding).
func (n *Net) NumParams() int {
	c := 0
	for _, p := range n.ps.All() {
		c += p.T.Numel()
	}
	return c
}

// SetParam uploads data into the parameter name (for importers).
func (n *Net) SetParam(name string, data []float32) error {
	p, ok := n.ps.Get(name)
	if !ok {
		return fmt.Errorf("backbone %q: no parameter %q", n.Spec.Name, name)
	}
	if len(data) != p.T.Numel() {
		return fmt.Errorf("backbone %q: parameter %q has shape %v, got %d values", n.Spec.Name, name, p.T.Shape(), len(data))
	}
	p.T.Upload(data)
	n.invalidate()
	return nil
}

// LoadInto loads a checkpoint's tensors into the network (strict names and shapes).
func (n *Net) LoadInto(c *nn.Checkpoint) error {
	if err := c.LoadInto(n.ps.All(), nn.LoadOptions{}); err != nil {
		return err
	}
	n.invalidate()
	return nil
}

func (n *Net) invalidate() {
	if n.aux != nil {
		n.aux.Release()
	}
	n.aux, n.plan, n.folded = nil, nil, nil
}

// Release frees the network's tensors.
func (n *Net) Release() {
	n.invalidate()
	n.ps.Release()
}

// host reads a parameter back to the host (nil when the network has none
// of that name). Reading fails when the device is lost: an error, not a
// panic.
func (n *Net) host(name string) ([]float32, error) {
	p, ok := n.ps.Get(name)
	if !ok {
		return nil, nil
	}
	d, err := p.T.Data()
	if err != nil {
		return nil, fmt.Errorf("backbone %q: reading %s from the device: %w", n.Spec.Name, name, err)
	}
	return d, nil
}

// hostAll reads several parameters (see host).
func (n *Net) hostAll(names ...string) ([][]float32, error) {
	out := make([][]float32, len(names))
	for i, name := range names {
		var err error
		if out[i], err = n.host(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bnAffine returns the per-channel scale and shift of an inference batch
// norm: y = x*scale + shift with scale = gamma/sqrt(var+eps) and
// shift = beta - mean*scale (in float64, then rounded).
func (n *Net) bnAffine(nd *Node, c int) (scale, shift []float64, err error) {
	vs, err := n.hostAll(nd.Name+".running_mean", nd.Name+".running_var", nd.Name+".weight", nd.Name+".bias")
	if err != nil {
		return nil, nil, err
	}
	mean, variance, gamma, beta := vs[0], vs[1], vs[2], vs[3]
	scale, shift = make([]float64, c), make([]float64, c)
	for i := range c {
		g, b := 1.0, 0.0
		if gamma != nil {
			g = float64(gamma[i])
		}
		if beta != nil {
			b = float64(beta[i])
		}
		v := float64(variance[i]) + float64(nd.Eps)
		if !(v > 0) {
			return nil, nil, fmt.Errorf("backbone %q: batch norm %q: variance+eps = %g in channel %d", n.Spec.Name, nd.Name, v, i)
		}
		scale[i] = g / math.Sqrt(v)
		shift[i] = b - float64(mean[i])*scale[i]
	}
	return scale, shift, nil
}

// constant registers a plan tensor holding data (outside any scope).
func (n *Net) constant(name string, data []float32, shape ...int) *nn.Tensor {
	return n.aux.NewBuffer(name, func(*rand.Rand, []int) []float32 { return data }, shape...)
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// Compile builds the inference plan from the current parameters: batch norms
// that alone consume a convolution without activation are folded into its
// weight and bias (w' = w*scale per output channel, b' = b*scale + shift);
// the others become per-channel affine maps. Forward compiles on first use;
// call Compile yourself to see errors early.
func (n *Net) Compile() (err error) {
	if n.plan != nil {
		return nil
	}
	n.aux = nn.NewParams(n.dev, 0)
	n.folded = map[string]string{}
	defer func() {
		if err != nil {
			n.invalidate()
		}
	}()
	var plan []step
	var inner error
	if err = nn.Catch(func() { plan, inner = n.compile() }); err == nil {
		err = inner // Catch's own nil must not hide compile's error
	}
	if err != nil {
		return err
	}
	n.plan = plan
	return nil
}

func (n *Net) compile() ([]step, error) {
	l := n.Layout
	byName := map[string]*Node{}
	foldInto := map[string]*Node{} // conv name -> bn node folded into it
	for i := range n.Spec.Nodes {
		nd := &n.Spec.Nodes[i]
		byName[nd.Name] = nd
		if nd.Op == OpBN && len(nd.Inputs) == 1 {
			src := byName[nd.Inputs[0]]
			if src.Op == OpConv && src.Act == ActLinear && l.Consumers[src.Name] == 1 {
				foldInto[src.Name] = nd
			}
		}
	}
	var plan []step
	for i := range n.Spec.Nodes {
		nd := &n.Spec.Nodes[i]
		st := step{nd: nd, out: nd.Name, pad: l.Pads[nd.Name]}
		switch nd.Op {
		case OpBN:
			if _, ok := n.folded[nd.Inputs[0]]; ok {
				continue // computed by the conv step
			}
			c := l.Shapes[nd.Name][0]
			scale, shift, err := n.bnAffine(nd, c)
			if err != nil {
				return nil, err
			}
			cs := append([]int{1, c}, make([]int, len(l.Shapes[nd.Name])-1)...)
			for k := 2; k < len(cs); k++ {
				cs[k] = 1
			}
			st.w = n.constant(nd.Name+".scale", toF32(scale), cs...)
			st.b = n.constant(nd.Name+".shift", toF32(shift), cs...)
		case OpConv, OpDense:
			wName, bName := nd.Name+".weight", nd.Name+".bias"
			p, _ := n.ps.Get(wName)
			wb, err := n.hostAll(wName, bName)
			if err != nil {
				return nil, err
			}
			w, bias := wb[0], wb[1]
			out := p.T.Dim(0)
			if bn, ok := foldInto[nd.Name]; ok && nd.Op == OpConv {
				scale, shift, err := n.bnAffine(bn, out)
				if err != nil {
					return nil, err
				}
				per := len(w) / out
				fw := make([]float32, len(w))
				fb := make([]float64, out)
				for o := range out {
					for k := range per {
						fw[o*per+k] = float32(float64(w[o*per+k]) * scale[o])
					}
					if bias != nil {
						fb[o] = float64(bias[o])
					}
					fb[o] = fb[o]*scale[o] + shift[o]
				}
				w, bias = fw, toF32(fb)
				st.out = bn.Name
				n.folded[nd.Name] = bn.Name
			}
			st.w = n.constant(wName, w, p.T.Shape()...)
			if bias != nil {
				st.b = n.constant(bName, bias, out)
			}
		case OpAvgPool:
			if nd.ExcludePad && st.pad[0] > 0 {
				in := l.Shapes[nd.Inputs[0]]
				out := l.Shapes[nd.Name]
				st.divide = n.constant(nd.Name+".count", poolFraction(in[1], in[2], out[1], out[2], nd.KH, l.stride(nd), st.pad[0]), 1, 1, out[1], out[2])
			}
		}
		plan = append(plan, st)
	}
	return plan, nil
}

func (l *Layout) stride(nd *Node) int {
	if nd.StrideH != 0 {
		return nd.StrideH
	}
	return nd.KH
}

// poolFraction returns, per output pixel of a k x k pool with stride and
// symmetric pad over an h x w image, the fraction of its window that lies
// inside the image.
func poolFraction(h, w, oh, ow, k, stride, pad int) []float32 {
	out := make([]float32, oh*ow)
	span := func(o, size int) int {
		lo := o*stride - pad
		return min(lo+k, size) - max(lo, 0)
	}
	for i := range oh {
		for j := range ow {
			out[i*ow+j] = float32(span(i, h)*span(j, w)) / float32(k*k)
		}
	}
	return out
}

// Forward runs the network on x (N, InputC, InputH, InputW), already mapped
// to [0, 1] (the Spec's InputScale/InputShift are applied here), and returns
// the named node outputs (the Spec's Output when none are named). It records
// no autograd graph. The results are owned by the caller's enclosing scope
// (or unscoped): release them when done.
func (n *Net) Forward(x *nn.Tensor, outputs ...string) ([]*nn.Tensor, error) {
	s := &n.Spec
	if x.Rank() != 4 || x.Dim(1) != s.InputC || x.Dim(2) != s.InputH || x.Dim(3) != s.InputW {
		return nil, fmt.Errorf("backbone %q: input %v, want (N, %d, %d, %d)", s.Name, x.Shape(), s.InputC, s.InputH, s.InputW)
	}
	if len(outputs) == 0 {
		outputs = []string{s.Output}
	}
	for _, o := range outputs {
		if bn, ok := n.folded[o]; ok {
			return nil, fmt.Errorf("backbone %q: output %q was folded into %q", s.Name, o, bn)
		}
		if _, ok := n.Layout.Shapes[o]; !ok {
			return nil, fmt.Errorf("backbone %q: no node %q", s.Name, o)
		}
	}
	if err := n.Compile(); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, o := range outputs {
		want[o] = true
	}
	var res []*nn.Tensor
	err := nn.Catch(func() {
		n.dev.NoGrad(func() {
			sc := n.dev.Scope()
			vals := n.run(x, want)
			res = make([]*nn.Tensor, len(outputs))
			for i, o := range outputs {
				res[i] = vals[o]
			}
			sc.Close(res...)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("backbone %q: %w", s.Name, err)
	}
	return res, nil
}

func (n *Net) run(x *nn.Tensor, want map[string]bool) map[string]*nn.Tensor {
	vals := map[string]*nn.Tensor{}
	left := map[string]int{}
	for k, v := range n.Layout.Consumers {
		left[k] = v
	}
	for _, st := range n.plan {
		nd := st.nd
		ins := make([]*nn.Tensor, len(nd.Inputs))
		for i, name := range nd.Inputs {
			ins[i] = vals[name]
		}
		var y *nn.Tensor
		if nd.Op == OpInput {
			y = x
			if n.Spec.InputScale != 0 && (n.Spec.InputScale != 1 || n.Spec.InputShift != 0) {
				y = nn.Affine(x, n.Spec.InputScale, n.Spec.InputShift)
			} else if n.Spec.InputShift != 0 {
				y = nn.AddScalar(x, n.Spec.InputShift)
			}
		} else {
			y = apply(st, ins)
		}
		vals[st.out] = y
		for _, name := range nd.Inputs {
			src := name
			if bn, ok := n.folded[name]; ok {
				src = bn
			}
			left[src]--
			if left[src] == 0 && !want[src] && vals[src] != x {
				vals[src].Release()
				delete(vals, src)
			}
		}
	}
	return vals
}

// convActivation is the conv-epilogue form of act, where there is one: a
// convolution followed by it (and its folded batch norm) then costs one pass.
func convActivation(act string) (nn.Activation, bool) {
	switch act {
	case ActLinear:
		return nn.ActIdentity, true
	case ActRelu:
		return nn.ActReLU, true
	case ActRelu6:
		return nn.ActReLU6, true
	case ActTanh:
		return nn.ActTanh, true
	}
	return nn.Activation{}, false
}

func activate(y *nn.Tensor, act string) *nn.Tensor {
	switch act {
	case ActRelu:
		return nn.Relu(y)
	case ActRelu6:
		return nn.Clamp(y, 0, 6)
	case ActSigmoid:
		return nn.Sigmoid(y)
	case ActTanh:
		return nn.Tanh(y)
	case ActSoftmax:
		return nn.Softmax(y, 1)
	}
	return y
}

// PadZeros pads x (N, C, H, W) with zeros: top, bottom, left, right.
// (nn has no pad primitive; this composes it from Concat.)
func PadZeros(x *nn.Tensor, top, bottom, left, right int) *nn.Tensor {
	d := x.Device()
	nb, c, h := x.Dim(0), x.Dim(1), x.Dim(2)
	if top > 0 || bottom > 0 {
		parts := []*nn.Tensor{x}
		if top > 0 {
			parts = slices.Insert(parts, 0, d.Zeros(nb, c, top, x.Dim(3)))
		}
		if bottom > 0 {
			parts = append(parts, d.Zeros(nb, c, bottom, x.Dim(3)))
		}
		x = nn.Concat(parts, 2)
		h = x.Dim(2)
	}
	if left > 0 || right > 0 {
		parts := []*nn.Tensor{x}
		if left > 0 {
			parts = slices.Insert(parts, 0, d.Zeros(nb, c, h, left))
		}
		if right > 0 {
			parts = append(parts, d.Zeros(nb, c, h, right))
		}
		x = nn.Concat(parts, 3)
	}
	return x
}

func apply(st step, ins []*nn.Tensor) *nn.Tensor {
	nd := st.nd
	x := ins[0]
	p := st.pad
	switch nd.Op {
	case OpConv:
		o := nn.ConvOpts{StrideH: max(nd.StrideH, 1), StrideW: max(nd.StrideW, 1), Groups: max(nd.Groups, 1)}
		if p[0] == p[1] && p[2] == p[3] {
			o.PadH, o.PadW = p[0], p[2]
		} else {
			x = PadZeros(x, p[0], p[1], p[2], p[3])
		}
		if act, ok := convActivation(nd.Act); ok {
			return nn.ConvEpilogue(x, st.w, nil, st.b, o, act)
		}
		return activate(nn.Conv2D(x, st.w, st.b, o), nd.Act)
	case OpDense:
		return activate(nn.Linear(x, st.w, st.b), nd.Act)
	case OpBN:
		return activate(nn.Add(nn.Mul(x, st.w), st.b), nd.Act)
	case OpAct, OpIdentity:
		if nd.Act == ActLinear {
			return x.Detach() // a view: the input may be released independently
		}
		return activate(x, nd.Act)
	case OpAdd:
		y := x
		for _, t := range ins[1:] {
			y = nn.Add(y, t)
		}
		return activate(y, nd.Act)
	case OpConcat:
		return activate(nn.Concat(ins, nd.Axis), nd.Act)
	case OpMaxPool:
		return activate(nn.MaxPool2D(x, nd.KH, max(nd.StrideH, 0), p[0]), nd.Act)
	case OpAvgPool:
		y := nn.AvgPool2D(x, nd.KH, max(nd.StrideH, 0), p[0])
		if st.divide != nil {
			y = nn.Div(y, st.divide)
		}
		return activate(y, nd.Act)
	case OpGAP:
		return activate(nn.Mean(x, []int{2, 3}, false), nd.Act)
	case OpPad:
		return PadZeros(x, p[0], p[1], p[2], p[3])
	case OpFlatten:
		if nd.ChannelsLast && x.Rank() == 4 && x.Dim(2)*x.Dim(3) > 1 {
			x = nn.Permute(x, 0, 2, 3, 1)
		}
		return nn.Reshape(x, x.Dim(0), -1)
	}
	panic("backbone: unknown op " + nd.Op) // Infer rejects unknown ops
}
