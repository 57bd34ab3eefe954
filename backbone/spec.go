// Package backbone runs pretrained image networks described as a small
// layer graph (a Spec) on any nn device: the feature networks of catsynth's
// evaluation (FID/KID) and of the vision-feature affinity estimator.
//
// A Spec is plain data (JSON in a checkpoint's "config" metadata), so one
// executor serves every imported network: the Keras models that the npm
// package nsfwjs ships (imported by package backbone/keras) and the standard FID
// InceptionV3 in pytorch-fid's naming. Weights use PyTorch layouts and names:
// convolutions "<node>.weight" (O, I/groups, KH, KW) and "<node>.bias" (O),
// batch norms "<node>.weight|bias|running_mean|running_var" (C), dense layers
// "<node>.weight" (Out, In) and "<node>.bias" (Out). Batch norms that follow
// a convolution are folded into it when the network is compiled.
package backbone

import (
	"fmt"
	"slices"
)

// The node operations of a Spec.
const (
	OpInput    = "input"    // the image batch (N, C, H, W); exactly one, first
	OpConv     = "conv"     // 2D convolution (Groups = C for depthwise)
	OpBN       = "bn"       // inference batch norm over channels
	OpAct      = "act"      // activation only
	OpAdd      = "add"      // element-wise sum of the inputs
	OpConcat   = "concat"   // concatenation along Axis (NCHW axes)
	OpAvgPool  = "avgpool"  // K x K average pool
	OpMaxPool  = "maxpool"  // K x K max pool
	OpGAP      = "gap"      // global average pool: (N, C, H, W) -> (N, C)
	OpPad      = "pad"      // zero padding by Pad
	OpFlatten  = "flatten"  // (N, ...) -> (N, F); ChannelsLast flattens in HWC order as Keras does
	OpDense    = "dense"    // fully connected layer on (N, F)
	OpIdentity = "identity" // dropout at inference, no-op layers
)

// The activations (Node.Act).
const (
	ActLinear  = ""
	ActRelu    = "relu"
	ActRelu6   = "relu6"
	ActSigmoid = "sigmoid"
	ActTanh    = "tanh"
	ActSoftmax = "softmax" // over axis 1
)

// Spec describes a network: an input and a list of nodes in topological
// order. The zero values of Node fields mean "not used" or the default
// noted beside them.
type Spec struct {
	// Name is the network named in every report, e.g.
	// "nsfwjs 4.4.0 InceptionV3 (fine-tuned, not the standard FID weights)".
	Name string `json:"name"`
	// Source says where the weights came from (package, version, file).
	Source string `json:"source,omitempty"`
	// InputC, InputH, InputW is the image size the network expects.
	InputC int `json:"input_c"`
	InputH int `json:"input_h"`
	InputW int `json:"input_w"`
	// InputScale and InputShift map pixels in [0, 1] to the network's input
	// range: x' = x*InputScale + InputShift (zero scale means 1).
	InputScale float32 `json:"input_scale,omitempty"`
	InputShift float32 `json:"input_shift,omitempty"`
	// Nodes in topological order; Nodes[0] is the input.
	Nodes []Node `json:"nodes"`
	// Output names the default output node (class scores).
	Output string `json:"output"`
	// Features names the pooled feature node used by FID/KID (N, F).
	Features string `json:"features"`
}

// Node is one layer of a Spec.
type Node struct {
	Name   string   `json:"name"`
	Op     string   `json:"op"`
	Inputs []string `json:"inputs,omitempty"`

	// conv, dense: output channels / units.
	Out int `json:"out,omitempty"`
	// conv, pools: window KH x KW (pools need KH == KW).
	KH int `json:"kh,omitempty"`
	KW int `json:"kw,omitempty"`
	// conv, pools: strides (0 means 1 for conv, the window for pools).
	StrideH int `json:"stride_h,omitempty"`
	StrideW int `json:"stride_w,omitempty"`
	// conv, pools, pad: explicit padding top, bottom, left, right.
	Pad [4]int `json:"pad,omitempty"`
	// conv, pools: Same adds TensorFlow's "same" padding (output size
	// ceil(in/stride), the odd pixel at the bottom/right) on top of Pad.
	Same bool `json:"same,omitempty"`
	// avgpool: ExcludePad divides by the number of real pixels in each
	// window (Keras, and PyTorch's count_include_pad=False).
	ExcludePad bool `json:"exclude_pad,omitempty"`
	// conv: channel groups (0 means 1).
	Groups int `json:"groups,omitempty"`
	// conv, dense: whether a bias tensor exists.
	Bias bool `json:"bias,omitempty"`
	// conv, dense, act: activation applied to the output.
	Act string `json:"act,omitempty"`
	// bn: epsilon; Scale and Center say whether weight and bias exist.
	Eps    float32 `json:"eps,omitempty"`
	Scale  bool    `json:"scale,omitempty"`
	Center bool    `json:"center,omitempty"`
	// concat: axis of the NCHW (or NF) output.
	Axis int `json:"axis,omitempty"`
	// flatten: HWC order (Keras channels_last) instead of CHW.
	ChannelsLast bool `json:"channels_last,omitempty"`
}

// Param is a tensor a Spec needs: its name and shape.
type Param struct {
	Name  string
	Shape []int
}

// Layout is the result of shape inference over a Spec.
type Layout struct {
	// Shapes maps a node name to its output shape without the batch axis:
	// (C, H, W) for images, (F) after flatten, dense and gap.
	Shapes map[string][]int
	// Pads holds each conv/pool node's resolved padding (top, bottom, left, right).
	Pads map[string][4]int
	// Params lists the tensors the network needs, in node order.
	Params []Param
	// Consumers counts how many node inputs read each node.
	Consumers map[string]int
}

// Infer checks the Spec and infers every node's output shape, resolved
// padding and parameter shapes. Errors name the node.
func (s *Spec) Infer() (*Layout, error) {
	if s.InputC <= 0 || s.InputH <= 0 || s.InputW <= 0 {
		return nil, fmt.Errorf("backbone %q: input size %dx%dx%d", s.Name, s.InputC, s.InputH, s.InputW)
	}
	if len(s.Nodes) == 0 || s.Nodes[0].Op != OpInput {
		return nil, fmt.Errorf("backbone %q: first node must be the input", s.Name)
	}
	l := &Layout{Shapes: map[string][]int{}, Pads: map[string][4]int{}, Consumers: map[string]int{}}
	for i := range s.Nodes {
		nd := &s.Nodes[i]
		if nd.Name == "" {
			return nil, fmt.Errorf("backbone %q: node %d has no name", s.Name, i)
		}
		if _, dup := l.Shapes[nd.Name]; dup {
			return nil, fmt.Errorf("backbone %q: node name %q used twice", s.Name, nd.Name)
		}
		var in [][]int
		for _, name := range nd.Inputs {
			sh, ok := l.Shapes[name]
			if !ok {
				return nil, fmt.Errorf("backbone %q: node %q reads %q, which is not defined before it", s.Name, nd.Name, name)
			}
			in = append(in, sh)
			l.Consumers[name]++
		}
		out, err := l.infer(s, nd, in)
		if err != nil {
			return nil, fmt.Errorf("backbone %q: node %q (%s): %w", s.Name, nd.Name, nd.Op, err)
		}
		for _, d := range out {
			if d <= 0 {
				return nil, fmt.Errorf("backbone %q: node %q (%s): output shape %v", s.Name, nd.Name, nd.Op, out)
			}
		}
		l.Shapes[nd.Name] = out
	}
	for _, name := range []string{s.Output, s.Features} {
		if _, ok := l.Shapes[name]; name != "" && !ok {
			return nil, fmt.Errorf("backbone %q: output node %q does not exist", s.Name, name)
		}
	}
	return l, nil
}

func wantInputs(in [][]int, n int, rank int) error {
	if n > 0 && len(in) != n {
		return fmt.Errorf("want %d inputs, got %d", n, len(in))
	}
	if n < 0 && len(in) < 1 {
		return fmt.Errorf("want at least one input")
	}
	for _, s := range in {
		if rank > 0 && len(s) != rank {
			return fmt.Errorf("want rank-%d inputs (without batch), got %v", rank, s)
		}
	}
	return nil
}

// samePad returns TensorFlow's "same" padding (before, after) of an axis.
func samePad(in, k, stride int) (int, int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// window resolves stride and padding of a conv or pool node over input (H, W).
func (l *Layout) window(nd *Node, h, w, defStride int) (sh, sw int, pad [4]int, err error) {
	sh, sw = nd.StrideH, nd.StrideW
	if sh == 0 {
		sh = defStride
	}
	if sw == 0 {
		sw = defStride
	}
	if nd.KH <= 0 || nd.KW <= 0 || sh <= 0 || sw <= 0 {
		return 0, 0, pad, fmt.Errorf("window %dx%d stride %dx%d", nd.KH, nd.KW, sh, sw)
	}
	pad = nd.Pad
	for _, p := range pad {
		if p < 0 {
			return 0, 0, pad, fmt.Errorf("negative padding %v", pad)
		}
	}
	if nd.Same {
		t, b := samePad(h+pad[0]+pad[1], nd.KH, sh)
		lft, r := samePad(w+pad[2]+pad[3], nd.KW, sw)
		pad[0], pad[1], pad[2], pad[3] = pad[0]+t, pad[1]+b, pad[2]+lft, pad[3]+r
	}
	l.Pads[nd.Name] = pad
	return sh, sw, pad, nil
}

func (l *Layout) infer(s *Spec, nd *Node, in [][]int) ([]int, error) {
	switch nd.Act {
	case ActLinear, ActRelu, ActRelu6, ActSigmoid, ActTanh, ActSoftmax:
	default:
		return nil, fmt.Errorf("unknown activation %q", nd.Act)
	}
	param := func(suffix string, shape ...int) {
		l.Params = append(l.Params, Param{Name: nd.Name + "." + suffix, Shape: shape})
	}
	switch nd.Op {
	case OpInput:
		if len(in) != 0 {
			return nil, fmt.Errorf("input node has inputs")
		}
		return []int{s.InputC, s.InputH, s.InputW}, nil
	case OpConv:
		if err := wantInputs(in, 1, 3); err != nil {
			return nil, err
		}
		c, h, w := in[0][0], in[0][1], in[0][2]
		g := max(nd.Groups, 1)
		if nd.Out <= 0 || c%g != 0 || nd.Out%g != 0 {
			return nil, fmt.Errorf("%d -> %d channels with %d groups", c, nd.Out, g)
		}
		sh, sw, pad, err := l.window(nd, h, w, 1)
		if err != nil {
			return nil, err
		}
		param("weight", nd.Out, c/g, nd.KH, nd.KW)
		if nd.Bias {
			param("bias", nd.Out)
		}
		return []int{nd.Out, (h+pad[0]+pad[1]-nd.KH)/sh + 1, (w+pad[2]+pad[3]-nd.KW)/sw + 1}, nil
	case OpBN:
		if err := wantInputs(in, 1, 0); err != nil {
			return nil, err
		}
		if len(in[0]) < 1 {
			return nil, fmt.Errorf("input has no channel axis")
		}
		c := in[0][0]
		if nd.Scale {
			param("weight", c)
		}
		if nd.Center {
			param("bias", c)
		}
		param("running_mean", c)
		param("running_var", c)
		return in[0], nil
	case OpAct, OpIdentity:
		if err := wantInputs(in, 1, 0); err != nil {
			return nil, err
		}
		return in[0], nil
	case OpAdd:
		if err := wantInputs(in, -1, 0); err != nil {
			return nil, err
		}
		for _, x := range in[1:] {
			if !slices.Equal(x, in[0]) {
				return nil, fmt.Errorf("adding shapes %v", in)
			}
		}
		return in[0], nil
	case OpConcat:
		if err := wantInputs(in, -1, 0); err != nil {
			return nil, err
		}
		ax := nd.Axis - 1 // without the batch axis
		if ax < 0 || ax >= len(in[0]) {
			return nil, fmt.Errorf("axis %d for inputs of rank %d", nd.Axis, len(in[0])+1)
		}
		out := slices.Clone(in[0])
		out[ax] = 0
		for _, x := range in {
			if len(x) != len(out) {
				return nil, fmt.Errorf("concatenating shapes %v", in)
			}
			for i := range x {
				if i != ax && x[i] != out[i] {
					return nil, fmt.Errorf("concatenating shapes %v along axis %d", in, nd.Axis)
				}
			}
			out[ax] += x[ax]
		}
		return out, nil
	case OpAvgPool, OpMaxPool:
		if err := wantInputs(in, 1, 3); err != nil {
			return nil, err
		}
		c, h, w := in[0][0], in[0][1], in[0][2]
		sh, sw, pad, err := l.window(nd, h, w, nd.KH)
		if err != nil {
			return nil, err
		}
		if nd.KH != nd.KW || sh != sw || pad[0] != pad[1] || pad[2] != pad[3] || pad[0] != pad[2] || 2*pad[0] > nd.KH {
			return nil, fmt.Errorf("pooling supports square windows, equal strides and symmetric padding of at most half the window (window %dx%d, stride %dx%d, pad %v)", nd.KH, nd.KW, sh, sw, pad)
		}
		return []int{c, (h+2*pad[0]-nd.KH)/sh + 1, (w+2*pad[0]-nd.KW)/sw + 1}, nil
	case OpGAP:
		if err := wantInputs(in, 1, 3); err != nil {
			return nil, err
		}
		return []int{in[0][0]}, nil
	case OpPad:
		if err := wantInputs(in, 1, 3); err != nil {
			return nil, err
		}
		p := nd.Pad
		if min(p[0], p[1], p[2], p[3]) < 0 {
			return nil, fmt.Errorf("negative padding %v", p)
		}
		l.Pads[nd.Name] = p
		return []int{in[0][0], in[0][1] + p[0] + p[1], in[0][2] + p[2] + p[3]}, nil
	case OpFlatten:
		if err := wantInputs(in, 1, 0); err != nil {
			return nil, err
		}
		if nd.ChannelsLast && len(in[0]) != 3 && len(in[0]) != 1 {
			return nil, fmt.Errorf("channels-last flatten of shape %v", in[0])
		}
		n := 1
		for _, d := range in[0] {
			n *= d
		}
		return []int{n}, nil
	case OpDense:
		if err := wantInputs(in, 1, 1); err != nil {
			return nil, err
		}
		if nd.Out <= 0 {
			return nil, fmt.Errorf("%d units", nd.Out)
		}
		param("weight", nd.Out, in[0][0])
		if nd.Bias {
			param("bias", nd.Out)
		}
		return []int{nd.Out}, nil
	}
	return nil, fmt.Errorf("unknown op")
}
