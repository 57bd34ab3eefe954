package keras

import (
	"encoding/json"
	"fmt"
	"strings"

	"catsynth/backbone"
	"catsynth/nn"
)

// Options name the converted network.
type Options struct {
	// Name is the network name every report prints.
	Name string
	// Source says where the model came from (package@version/path).
	Source string
	// Features names the Keras layer whose output serves as pooled features;
	// empty means the input of the first Dense layer (the pooled, flattened
	// backbone output in classifier heads).
	Features string
}

// layerConfig holds the Keras config fields the converter reads.
type layerConfig struct {
	Name            string          `json:"name"`
	BatchInputShape []*int          `json:"batch_input_shape"`
	BatchShape      []*int          `json:"batch_shape"`
	DataFormat      string          `json:"data_format"`
	Filters         int             `json:"filters"`
	KernelSize      []int           `json:"kernel_size"`
	Strides         []int           `json:"strides"`
	Padding         json.RawMessage `json:"padding"`
	DilationRate    []int           `json:"dilation_rate"`
	Activation      string          `json:"activation"`
	UseBias         *bool           `json:"use_bias"`
	DepthMultiplier int             `json:"depth_multiplier"`
	Axis            json.RawMessage `json:"axis"`
	Epsilon         float64         `json:"epsilon"`
	Center          *bool           `json:"center"`
	Scale           *bool           `json:"scale"`
	MaxValue        *float64        `json:"max_value"`
	NegativeSlope   float64         `json:"negative_slope"`
	Threshold       float64         `json:"threshold"`
	PoolSize        []int           `json:"pool_size"`
	Units           int             `json:"units"`
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// converter accumulates the Spec and the PyTorch-layout parameters.
type converter struct {
	spec    backbone.Spec
	params  map[string][]float32
	weights map[string]Weight
	used    map[string]bool
}

// weight finds "<layer>/<suffix>" (possibly under a scope prefix).
func (c *converter) weight(layer, suffix string) (Weight, bool) {
	key := layer + "/" + suffix
	if w, ok := c.weights[key]; ok {
		c.used[key] = true
		return w, true
	}
	for k, w := range c.weights {
		if strings.HasSuffix(k, "/"+key) {
			c.used[k] = true
			return w, true
		}
	}
	return Weight{}, false
}

func (c *converter) need(layer, suffix string, rank int) (Weight, error) {
	w, ok := c.weight(layer, suffix)
	if !ok {
		return w, fmt.Errorf("weight %s/%s is missing", layer, suffix)
	}
	if rank > 0 && len(w.Shape) != rank {
		return w, fmt.Errorf("weight %s/%s has shape %v, want rank %d", layer, suffix, w.Shape, rank)
	}
	return w, nil
}

func activation(a string) (string, error) {
	switch a {
	case "", "linear":
		return backbone.ActLinear, nil
	case "relu", "relu6", "sigmoid", "tanh", "softmax":
		return a, nil
	}
	return "", fmt.Errorf("unsupported activation %q", a)
}

func pair(v []int, def int) (int, int, error) {
	switch len(v) {
	case 0:
		return def, def, nil
	case 1:
		return v[0], v[0], nil
	case 2:
		return v[0], v[1], nil
	}
	return 0, 0, fmt.Errorf("want 1 or 2 values, got %v", v)
}

// padding parses "same"/"valid" (conv, pool) into the node.
func setPadding(nd *backbone.Node, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("padding %s", raw)
	}
	switch s {
	case "same":
		nd.Same = true
	case "valid":
	default:
		return fmt.Errorf("unsupported padding %q", s)
	}
	return nil
}

// zeroPadding parses ZeroPadding2D's padding: n, [h, w] or [[t, b], [l, r]].
func zeroPadding(raw json.RawMessage) ([4]int, error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return [4]int{n, n, n, n}, nil
	}
	var hw []int
	if json.Unmarshal(raw, &hw) == nil && len(hw) == 2 {
		return [4]int{hw[0], hw[0], hw[1], hw[1]}, nil
	}
	var tb [][]int
	if json.Unmarshal(raw, &tb) == nil && len(tb) == 2 && len(tb[0]) == 2 && len(tb[1]) == 2 {
		return [4]int{tb[0][0], tb[0][1], tb[1][0], tb[1][1]}, nil
	}
	return [4]int{}, fmt.Errorf("unsupported padding %s", raw)
}

// channelAxis checks that a Keras axis is the channel axis of channels_last
// data of the given rank (with batch) and returns the NCHW axis (1).
func channelAxis(raw json.RawMessage, rank int) (int, error) {
	var a int
	if err := json.Unmarshal(raw, &a); err != nil {
		var as []int
		if json.Unmarshal(raw, &as) != nil || len(as) != 1 {
			return 0, fmt.Errorf("unsupported axis %s", raw)
		}
		a = as[0]
	}
	if a == -1 || a == rank-1 {
		return 1, nil
	}
	return 0, fmt.Errorf("only the channel axis is supported, got axis %d of rank %d", a, rank)
}

// inboundNames parses inbound_nodes: [[["name", 0, 0, {}], ...]] (Keras 2)
// or [{"args": [{"config": {"keras_history": ["name", 0, 0]}}]}] (Keras 3).
func inboundNames(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var k2 [][][]any
	if err := json.Unmarshal(raw, &k2); err == nil {
		if len(k2) > 1 {
			return nil, fmt.Errorf("layer is called %d times (shared layers are not supported)", len(k2))
		}
		var names []string
		for _, nodes := range k2 {
			for _, in := range nodes {
				s, ok := in[0].(string)
				if !ok || len(in) < 3 {
					return nil, fmt.Errorf("bad inbound node %v", in)
				}
				if idx, _ := in[2].(float64); idx != 0 {
					return nil, fmt.Errorf("inbound tensor index %v (multi-output layers are not supported)", in[2])
				}
				names = append(names, s)
			}
		}
		return names, nil
	}
	return nil, fmt.Errorf("unsupported inbound_nodes %s", raw)
}

// modelLayers returns the layers and, for functional models, the output layer.
func modelLayers(t *Topology) (layers []Layer, output string, sequential bool, err error) {
	cfg := t.ModelConfig.Config
	switch t.ModelConfig.ClassName {
	case "Model", "Functional":
		var c struct {
			Layers       []Layer `json:"layers"`
			OutputLayers [][]any `json:"output_layers"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, "", false, fmt.Errorf("model config: %w", err)
		}
		if len(c.OutputLayers) != 1 || len(c.OutputLayers[0]) == 0 {
			return nil, "", false, fmt.Errorf("want one output layer, got %v", c.OutputLayers)
		}
		out, _ := c.OutputLayers[0][0].(string)
		return c.Layers, out, false, nil
	case "Sequential":
		var ls []Layer
		if err := json.Unmarshal(cfg, &ls); err != nil {
			var c struct {
				Layers []Layer `json:"layers"`
			}
			if err := json.Unmarshal(cfg, &c); err != nil {
				return nil, "", false, fmt.Errorf("model config: %w", err)
			}
			ls = c.Layers
		}
		if len(ls) == 0 {
			return nil, "", false, fmt.Errorf("sequential model without layers")
		}
		return ls, "", true, nil
	}
	return nil, "", false, fmt.Errorf("unsupported model class %q", t.ModelConfig.ClassName)
}

// ConvertSpec turns a Keras layers model and its decoded weights into a
// backbone Spec and parameters in PyTorch layout (conv OIHW, dense (Out, In)).
// Every weight of the model must be used.
func ConvertSpec(m *ModelJSON, weights map[string]Weight, o Options) (backbone.Spec, map[string][]float32, error) {
	c := &converter{params: map[string][]float32{}, weights: weights, used: map[string]bool{}}
	c.spec = backbone.Spec{Name: o.Name, Source: o.Source, InputScale: 1}
	layers, output, sequential, err := modelLayers(&m.Topology)
	if err != nil {
		return backbone.Spec{}, nil, fmt.Errorf("keras: %w", err)
	}
	rank := map[string]int{} // rank with batch
	prev := ""
	firstDense := ""
	for i, ly := range layers {
		var cfg layerConfig
		if err := json.Unmarshal(ly.Config, &cfg); err != nil {
			return backbone.Spec{}, nil, fmt.Errorf("keras: layer %d config: %w", i, err)
		}
		name := ly.Name
		if name == "" {
			name = cfg.Name
		}
		var inputs []string
		if sequential {
			if prev != "" {
				inputs = []string{prev}
			}
		} else if inputs, err = inboundNames(ly.InboundNodes); err != nil {
			return backbone.Spec{}, nil, fmt.Errorf("keras: layer %q: %w", name, err)
		}
		if sequential && i == 0 && ly.ClassName != "InputLayer" {
			// The first layer carries the input shape; add an input node.
			if err := c.input(backbone.Node{Name: "input"}, cfg); err != nil {
				return backbone.Spec{}, nil, fmt.Errorf("keras: layer %q: %w", name, err)
			}
			rank["input"] = 4
			inputs = []string{"input"}
		}
		if ly.ClassName == "Dense" && firstDense == "" && len(inputs) == 1 {
			firstDense = inputs[0]
		}
		r, err := c.layer(name, ly.ClassName, cfg, inputs, rank)
		if err != nil {
			return backbone.Spec{}, nil, fmt.Errorf("keras: layer %q (%s): %w", name, ly.ClassName, err)
		}
		rank[name] = r
		prev = name
	}
	if output == "" {
		output = prev
	}
	c.spec.Output = output
	c.spec.Features = o.Features
	if c.spec.Features == "" {
		c.spec.Features = firstDense
	}
	var unused []string
	for k := range weights {
		if !c.used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		return backbone.Spec{}, nil, fmt.Errorf("keras: %d weights are not used by any layer: %v", len(unused), unused[:min(len(unused), 8)])
	}
	if _, err := c.spec.Infer(); err != nil {
		return backbone.Spec{}, nil, fmt.Errorf("keras: %w", err)
	}
	return c.spec, c.params, nil
}

func (c *converter) input(nd backbone.Node, cfg layerConfig) error {
	shape := cfg.BatchInputShape
	if shape == nil {
		shape = cfg.BatchShape
	}
	if len(shape) != 4 || shape[1] == nil || shape[2] == nil || shape[3] == nil {
		return fmt.Errorf("want a fixed (batch, H, W, C) input shape, got %d axes", len(shape))
	}
	if len(c.spec.Nodes) > 0 {
		return fmt.Errorf("more than one input")
	}
	c.spec.InputH, c.spec.InputW, c.spec.InputC = *shape[1], *shape[2], *shape[3]
	nd.Op = backbone.OpInput
	c.spec.Nodes = append(c.spec.Nodes, nd)
	return nil
}

// layer converts one Keras layer and returns the rank (with batch) of its output.
func (c *converter) layer(name, class string, cfg layerConfig, inputs []string, rank map[string]int) (int, error) {
	if cfg.DataFormat != "" && cfg.DataFormat != "channels_last" {
		return 0, fmt.Errorf("data_format %q (only channels_last)", cfg.DataFormat)
	}
	nd := backbone.Node{Name: name, Inputs: inputs}
	inRank := 0
	if len(inputs) > 0 {
		inRank = rank[inputs[0]]
	}
	act, err := activation(cfg.Activation)
	if err != nil {
		return 0, err
	}
	out := inRank
	switch class {
	case "InputLayer":
		return 4, c.input(nd, cfg)
	case "Conv2D", "DepthwiseConv2D":
		kh, kw, err := pair(cfg.KernelSize, 1)
		if err != nil {
			return 0, err
		}
		nd.KH, nd.KW = kh, kw
		if nd.StrideH, nd.StrideW, err = pair(cfg.Strides, 1); err != nil {
			return 0, err
		}
		if dh, dw, err := pair(cfg.DilationRate, 1); err != nil || dh != 1 || dw != 1 {
			return 0, fmt.Errorf("dilation %v is not supported", cfg.DilationRate)
		}
		if err := setPadding(&nd, cfg.Padding); err != nil {
			return 0, err
		}
		nd.Op, nd.Act, nd.Bias = backbone.OpConv, act, boolOr(cfg.UseBias, true)
		if class == "Conv2D" {
			w, err := c.need(name, "kernel", 4)
			if err != nil {
				return 0, err
			}
			if w.Shape[0] != kh || w.Shape[1] != kw || w.Shape[3] != cfg.Filters {
				return 0, fmt.Errorf("kernel shape %v for a %dx%d conv with %d filters", w.Shape, kh, kw, cfg.Filters)
			}
			nd.Out = cfg.Filters
			c.params[name+".weight"] = hwioToOIHW(w)
		} else {
			w, err := c.need(name, "depthwise_kernel", 4)
			if err != nil {
				return 0, err
			}
			mult := max(cfg.DepthMultiplier, 1)
			if w.Shape[0] != kh || w.Shape[1] != kw || w.Shape[3] != mult {
				return 0, fmt.Errorf("depthwise kernel shape %v for %dx%d with multiplier %d", w.Shape, kh, kw, mult)
			}
			nd.Out, nd.Groups = w.Shape[2]*mult, w.Shape[2]
			c.params[name+".weight"] = depthwiseToOIHW(w)
		}
		if nd.Bias {
			b, err := c.need(name, "bias", 1)
			if err != nil {
				return 0, err
			}
			c.params[name+".bias"] = b.Data
		}
	case "BatchNormalization":
		if _, err := channelAxis(cfg.Axis, inRank); err != nil {
			return 0, err
		}
		nd.Op, nd.Eps = backbone.OpBN, float32(cfg.Epsilon)
		nd.Scale, nd.Center = boolOr(cfg.Scale, true), boolOr(cfg.Center, true)
		for _, p := range [][3]any{{"gamma", "weight", nd.Scale}, {"beta", "bias", nd.Center}, {"moving_mean", "running_mean", true}, {"moving_variance", "running_var", true}} {
			if !p[2].(bool) {
				continue
			}
			w, err := c.need(name, p[0].(string), 1)
			if err != nil {
				return 0, err
			}
			c.params[name+"."+p[1].(string)] = w.Data
		}
	case "Activation":
		nd.Op, nd.Act = backbone.OpAct, act
	case "ReLU":
		if cfg.NegativeSlope != 0 || cfg.Threshold != 0 {
			return 0, fmt.Errorf("ReLU with negative_slope %g, threshold %g is not supported", cfg.NegativeSlope, cfg.Threshold)
		}
		nd.Op, nd.Act = backbone.OpAct, backbone.ActRelu
		if cfg.MaxValue != nil {
			if *cfg.MaxValue != 6 {
				return 0, fmt.Errorf("ReLU max_value %g (only 6 is supported)", *cfg.MaxValue)
			}
			nd.Act = backbone.ActRelu6
		}
	case "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout":
		nd.Op = backbone.OpIdentity
	case "Add":
		nd.Op = backbone.OpAdd
	case "Concatenate":
		ax, err := channelAxis(cfg.Axis, inRank)
		if err != nil {
			return 0, err
		}
		nd.Op, nd.Axis = backbone.OpConcat, ax
	case "AveragePooling2D", "MaxPooling2D":
		if nd.KH, nd.KW, err = pair(cfg.PoolSize, 2); err != nil {
			return 0, err
		}
		if cfg.Strides == nil {
			nd.StrideH, nd.StrideW = nd.KH, nd.KW
		} else if nd.StrideH, nd.StrideW, err = pair(cfg.Strides, 1); err != nil {
			return 0, err
		}
		if err := setPadding(&nd, cfg.Padding); err != nil {
			return 0, err
		}
		nd.Op, nd.ExcludePad = backbone.OpMaxPool, true
		if class == "AveragePooling2D" {
			nd.Op = backbone.OpAvgPool
		}
	case "GlobalAveragePooling2D":
		nd.Op, out = backbone.OpGAP, 2
	case "ZeroPadding2D":
		p, err := zeroPadding(cfg.Padding)
		if err != nil {
			return 0, err
		}
		nd.Op, nd.Pad = backbone.OpPad, p
	case "Flatten":
		nd.Op, nd.ChannelsLast, out = backbone.OpFlatten, true, 2
	case "Dense":
		if inRank != 2 {
			return 0, fmt.Errorf("dense layer on rank-%d input (only (batch, features))", inRank)
		}
		w, err := c.need(name, "kernel", 2)
		if err != nil {
			return 0, err
		}
		if w.Shape[1] != cfg.Units {
			return 0, fmt.Errorf("kernel shape %v for %d units", w.Shape, cfg.Units)
		}
		nd.Op, nd.Out, nd.Act, nd.Bias = backbone.OpDense, cfg.Units, act, boolOr(cfg.UseBias, true)
		c.params[name+".weight"] = transpose2(w)
		if nd.Bias {
			b, err := c.need(name, "bias", 1)
			if err != nil {
				return 0, err
			}
			c.params[name+".bias"] = b.Data
		}
	default:
		return 0, fmt.Errorf("unsupported layer class")
	}
	if (class == "Conv2D" || class == "DepthwiseConv2D" || strings.HasSuffix(class, "Pooling2D") || class == "ZeroPadding2D") && inRank != 4 {
		return 0, fmt.Errorf("needs a (batch, H, W, C) input, got rank %d", inRank)
	}
	c.spec.Nodes = append(c.spec.Nodes, nd)
	return out, nil
}

// hwioToOIHW transposes a Keras conv kernel (KH, KW, In, Out) to (Out, In, KH, KW).
func hwioToOIHW(w Weight) []float32 {
	kh, kw, in, out := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	dst := make([]float32, len(w.Data))
	for y := range kh {
		for x := range kw {
			for i := range in {
				for o := range out {
					dst[((o*in+i)*kh+y)*kw+x] = w.Data[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return dst
}

// depthwiseToOIHW maps a Keras depthwise kernel (KH, KW, C, M) to a grouped
// conv weight (C*M, 1, KH, KW); output channel c*M+m reads input channel c,
// as in TensorFlow.
func depthwiseToOIHW(w Weight) []float32 {
	kh, kw, c, m := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	dst := make([]float32, len(w.Data))
	for y := range kh {
		for x := range kw {
			for ci := range c {
				for mi := range m {
					dst[((ci*m+mi)*kh+y)*kw+x] = w.Data[((y*kw+x)*c+ci)*m+mi]
				}
			}
		}
	}
	return dst
}

// transpose2 turns a Keras dense kernel (In, Out) into (Out, In).
func transpose2(w Weight) []float32 {
	in, out := w.Shape[0], w.Shape[1]
	dst := make([]float32, len(w.Data))
	for i := range in {
		for o := range out {
			dst[o*in+i] = w.Data[i*out+o]
		}
	}
	return dst
}

// Convert builds the network on dev with the converted weights.
func Convert(dev *nn.Device, m *ModelJSON, weights map[string]Weight, o Options) (*backbone.Net, error) {
	spec, params, err := ConvertSpec(m, weights, o)
	if err != nil {
		return nil, err
	}
	net, err := backbone.New(dev, spec)
	if err != nil {
		return nil, err
	}
	for _, p := range net.Params() {
		data, ok := params[p.Name]
		if !ok {
			net.Release()
			return nil, fmt.Errorf("keras: no weight for parameter %q", p.Name)
		}
		if err := net.SetParam(p.Name, data); err != nil {
			net.Release()
			return nil, err
		}
	}
	return net, nil
}
