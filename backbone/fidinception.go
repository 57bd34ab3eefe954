package backbone

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// FID InceptionV3 (pytorch-fid's pt_inception-2015-12-05 network).
//
// pytorch-fid builds torchvision's Inception3 (1008 classes, no auxiliary
// head, transform_input=False) and swaps Mixed_5b..Mixed_7c for its FID
// variants, which differ from torchvision only in their branch_pool:
//
//	FIDInceptionA (Mixed_5b/c/d), FIDInceptionC (Mixed_6b..e),
//	FIDInceptionE_1 (Mixed_7b): 3x3 avg pool, stride 1, pad 1,
//	                            count_include_pad=False
//	FIDInceptionE_2 (Mixed_7c): 3x3 MAX pool, stride 1, pad 1
//
// Every BasicConv2d is a bias-free conv, a batch norm (eps 0.001) and a ReLU.
// Inputs in [0, 1] are resized to 299x299 (bilinear) and mapped to [-1, 1].
// FID uses the 2048-d global average pool after Mixed_7c.
const (
	// FIDInceptionArch is the "architecture" metadata value that marks a
	// safetensors file as pytorch-fid's InceptionV3 state_dict.
	FIDInceptionArch = "pytorch-fid-inception-v3"
	// MetaArchitecture is the metadata key holding FIDInceptionArch.
	MetaArchitecture = "architecture"
	// FIDInceptionClasses is the row count of pytorch-fid's fc.weight (the
	// 2015 TensorFlow graph's 1008 classes; torchvision's ImageNet model has 1000).
	FIDInceptionClasses = 1008
)

// fidBuilder appends pytorch-fid InceptionV3 nodes in topological order.
type fidBuilder struct{ nodes []Node }

// basic adds a BasicConv2d called name reading in: "<name>.conv" (no bias,
// kh x kw, stride s, padding ph, pw), "<name>.bn" (eps 0.001, affine) and
// the ReLU "<name>", which is the block's output node.
func (b *fidBuilder) basic(name, in string, out, kh, kw, s, ph, pw int) string {
	b.nodes = append(b.nodes,
		Node{Name: name + ".conv", Op: OpConv, Inputs: []string{in}, Out: out, KH: kh, KW: kw, StrideH: s, StrideW: s, Pad: [4]int{ph, ph, pw, pw}},
		Node{Name: name + ".bn", Op: OpBN, Inputs: []string{name + ".conv"}, Eps: 0.001, Scale: true, Center: true},
		Node{Name: name, Op: OpAct, Act: ActRelu, Inputs: []string{name + ".bn"}})
	return name
}

// pool adds a 3x3 pool with stride s and symmetric padding pad; avg pools
// ignore the padding (count_include_pad=False).
func (b *fidBuilder) pool(name, in, op string, s, pad int) string {
	b.nodes = append(b.nodes, Node{Name: name, Op: op, Inputs: []string{in}, KH: 3, KW: 3, StrideH: s, StrideW: s,
		Pad: [4]int{pad, pad, pad, pad}, ExcludePad: op == OpAvgPool})
	return name
}

func (b *fidBuilder) concat(name string, ins ...string) string {
	b.nodes = append(b.nodes, Node{Name: name, Op: OpConcat, Axis: 1, Inputs: ins})
	return name
}

// inceptionA is FIDInceptionA: 64 + 64 + 96 + poolFeatures channels.
func (b *fidBuilder) inceptionA(m, in string, poolFeatures int) string {
	b1 := b.basic(m+".branch1x1", in, 64, 1, 1, 1, 0, 0)
	b5 := b.basic(m+".branch5x5_1", in, 48, 1, 1, 1, 0, 0)
	b5 = b.basic(m+".branch5x5_2", b5, 64, 5, 5, 1, 2, 2)
	b3 := b.basic(m+".branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0)
	b3 = b.basic(m+".branch3x3dbl_2", b3, 96, 3, 3, 1, 1, 1)
	b3 = b.basic(m+".branch3x3dbl_3", b3, 96, 3, 3, 1, 1, 1)
	bp := b.pool(m+".avg_pool", in, OpAvgPool, 1, 1)
	bp = b.basic(m+".branch_pool", bp, poolFeatures, 1, 1, 1, 0, 0)
	return b.concat(m, b1, b5, b3, bp)
}

// inceptionB is torchvision's InceptionB (Mixed_6a): 384 + 96 + in channels, half size.
func (b *fidBuilder) inceptionB(m, in string) string {
	b3 := b.basic(m+".branch3x3", in, 384, 3, 3, 2, 0, 0)
	bd := b.basic(m+".branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0)
	bd = b.basic(m+".branch3x3dbl_2", bd, 96, 3, 3, 1, 1, 1)
	bd = b.basic(m+".branch3x3dbl_3", bd, 96, 3, 3, 2, 0, 0)
	bp := b.pool(m+".max_pool", in, OpMaxPool, 2, 0)
	return b.concat(m, b3, bd, bp)
}

// inceptionC is FIDInceptionC: 4 x 192 = 768 channels; c7 is channels_7x7.
func (b *fidBuilder) inceptionC(m, in string, c7 int) string {
	b1 := b.basic(m+".branch1x1", in, 192, 1, 1, 1, 0, 0)
	b7 := b.basic(m+".branch7x7_1", in, c7, 1, 1, 1, 0, 0)
	b7 = b.basic(m+".branch7x7_2", b7, c7, 1, 7, 1, 0, 3)
	b7 = b.basic(m+".branch7x7_3", b7, 192, 7, 1, 1, 3, 0)
	bd := b.basic(m+".branch7x7dbl_1", in, c7, 1, 1, 1, 0, 0)
	bd = b.basic(m+".branch7x7dbl_2", bd, c7, 7, 1, 1, 3, 0)
	bd = b.basic(m+".branch7x7dbl_3", bd, c7, 1, 7, 1, 0, 3)
	bd = b.basic(m+".branch7x7dbl_4", bd, c7, 7, 1, 1, 3, 0)
	bd = b.basic(m+".branch7x7dbl_5", bd, 192, 1, 7, 1, 0, 3)
	bp := b.pool(m+".avg_pool", in, OpAvgPool, 1, 1)
	bp = b.basic(m+".branch_pool", bp, 192, 1, 1, 1, 0, 0)
	return b.concat(m, b1, b7, bd, bp)
}

// inceptionD is torchvision's InceptionD (Mixed_7a): 320 + 192 + in channels, half size.
func (b *fidBuilder) inceptionD(m, in string) string {
	b3 := b.basic(m+".branch3x3_1", in, 192, 1, 1, 1, 0, 0)
	b3 = b.basic(m+".branch3x3_2", b3, 320, 3, 3, 2, 0, 0)
	b7 := b.basic(m+".branch7x7x3_1", in, 192, 1, 1, 1, 0, 0)
	b7 = b.basic(m+".branch7x7x3_2", b7, 192, 1, 7, 1, 0, 3)
	b7 = b.basic(m+".branch7x7x3_3", b7, 192, 7, 1, 1, 3, 0)
	b7 = b.basic(m+".branch7x7x3_4", b7, 192, 3, 3, 2, 0, 0)
	bp := b.pool(m+".max_pool", in, OpMaxPool, 2, 0)
	return b.concat(m, b3, b7, bp)
}

// inceptionE is FIDInceptionE_1 (avg pool ignoring padding) or, with
// maxPool, FIDInceptionE_2: 320 + 768 + 768 + 192 = 2048 channels.
func (b *fidBuilder) inceptionE(m, in string, maxPool bool) string {
	b1 := b.basic(m+".branch1x1", in, 320, 1, 1, 1, 0, 0)
	b3 := b.basic(m+".branch3x3_1", in, 384, 1, 1, 1, 0, 0)
	b3a := b.basic(m+".branch3x3_2a", b3, 384, 1, 3, 1, 0, 1)
	b3b := b.basic(m+".branch3x3_2b", b3, 384, 3, 1, 1, 1, 0)
	b3 = b.concat(m+".branch3x3", b3a, b3b)
	bd := b.basic(m+".branch3x3dbl_1", in, 448, 1, 1, 1, 0, 0)
	bd = b.basic(m+".branch3x3dbl_2", bd, 384, 3, 3, 1, 1, 1)
	bda := b.basic(m+".branch3x3dbl_3a", bd, 384, 1, 3, 1, 0, 1)
	bdb := b.basic(m+".branch3x3dbl_3b", bd, 384, 3, 1, 1, 1, 0)
	bd = b.concat(m+".branch3x3dbl", bda, bdb)
	var bp string
	if maxPool {
		bp = b.pool(m+".max_pool", in, OpMaxPool, 1, 1)
	} else {
		bp = b.pool(m+".avg_pool", in, OpAvgPool, 1, 1)
	}
	bp = b.basic(m+".branch_pool", bp, 192, 1, 1, 1, 0, 0)
	return b.concat(m, b1, b3, bd, bp)
}

// FIDInceptionSpec returns pytorch-fid's FID InceptionV3 as a Spec whose
// parameters carry the PyTorch state_dict names of
// pytorch_fid.inception.fid_inception_v3() ("Conv2d_1a_3x3.conv.weight",
// "Mixed_5b.branch1x1.bn.running_var", ...). Input: (N, 3, 299, 299) in
// [0, 1], mapped to [-1, 1]. Features: "pool", the 2048-d global average
// pool that FID uses. With classifier the Spec keeps "fc" (1008 logits,
// fc.weight (1008, 2048) and fc.bias) as its Output; otherwise Output is
// "pool". Other node names ("<block>.avg_pool", "<block>.max_pool", the
// concatenations named after their block) hold no parameters.
func FIDInceptionSpec(classifier bool) Spec {
	b := &fidBuilder{nodes: []Node{{Name: "input", Op: OpInput}}}
	x := b.basic("Conv2d_1a_3x3", "input", 32, 3, 3, 2, 0, 0)
	x = b.basic("Conv2d_2a_3x3", x, 32, 3, 3, 1, 0, 0)
	x = b.basic("Conv2d_2b_3x3", x, 64, 3, 3, 1, 1, 1)
	x = b.pool("maxpool1", x, OpMaxPool, 2, 0)
	x = b.basic("Conv2d_3b_1x1", x, 80, 1, 1, 1, 0, 0)
	x = b.basic("Conv2d_4a_3x3", x, 192, 3, 3, 1, 0, 0)
	x = b.pool("maxpool2", x, OpMaxPool, 2, 0)
	x = b.inceptionA("Mixed_5b", x, 32)
	x = b.inceptionA("Mixed_5c", x, 64)
	x = b.inceptionA("Mixed_5d", x, 64)
	x = b.inceptionB("Mixed_6a", x)
	x = b.inceptionC("Mixed_6b", x, 128)
	x = b.inceptionC("Mixed_6c", x, 160)
	x = b.inceptionC("Mixed_6d", x, 160)
	x = b.inceptionC("Mixed_6e", x, 192)
	x = b.inceptionD("Mixed_7a", x)
	x = b.inceptionE("Mixed_7b", x, false)
	x = b.inceptionE("Mixed_7c", x, true)
	b.nodes = append(b.nodes, Node{Name: "pool", Op: OpGAP, Inputs: []string{x}})
	out := "pool"
	if classifier {
		// Dropout is the identity at inference.
		b.nodes = append(b.nodes, Node{Name: "fc", Op: OpDense, Inputs: []string{"pool"}, Out: FIDInceptionClasses, Bias: true})
		out = "fc"
	}
	return Spec{
		Name:       "pytorch-fid InceptionV3 (FID network, pt_inception-2015-12-05 layout)",
		Source:     "pytorch-fid state_dict",
		InputC:     3,
		InputH:     299,
		InputW:     299,
		InputScale: 2,
		InputShift: -1,
		Nodes:      b.nodes,
		Output:     out,
		Features:   "pool",
	}
}

// fidBlockModules maps pytorch_fid.inception.InceptionV3's "blocks.<i>.<j>"
// state_dict prefixes to fid_inception_v3()'s module names (the pools of
// blocks 0, 1 and 3 hold no tensors).
var fidBlockModules = [][]string{
	{"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"},
	{"Conv2d_3b_1x1", "Conv2d_4a_3x3"},
	{"Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"},
	{"Mixed_7a", "Mixed_7b", "Mixed_7c"},
}

// fidCanonicalName turns "blocks.<i>.<j>.rest" into "<module>.rest"; other
// names are returned unchanged.
func fidCanonicalName(name string) string {
	parts := strings.SplitN(name, ".", 4)
	if len(parts) != 4 || parts[0] != "blocks" {
		return name
	}
	i, err1 := strconv.Atoi(parts[1])
	j, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || i < 0 || i >= len(fidBlockModules) || j < 0 || j >= len(fidBlockModules[i]) {
		return name
	}
	return fidBlockModules[i][j] + "." + parts[3]
}

// IsFIDInception reports whether a checkpoint claims to be pytorch-fid's
// InceptionV3: "architecture" metadata FIDInceptionArch, or the first
// layer's tensor under either naming (fid_inception_v3() or InceptionV3's
// "blocks.0.0."). Whether it really matches is checked when loading.
func IsFIDInception(c *nn.Checkpoint) bool {
	if c.Metadata[MetaArchitecture] == FIDInceptionArch {
		return true
	}
	for _, n := range []string{"Conv2d_1a_3x3.conv.weight", "blocks.0.0.conv.weight"} {
		if _, ok := c.File.Get(n); ok {
			return true
		}
	}
	return false
}

// fidMismatchShow is how many problems of each kind an error lists.
const fidMismatchShow = 6

// FIDInceptionFromCheckpoint builds pytorch-fid's InceptionV3 on dev from a
// PyTorch state_dict saved as safetensors. Names may be fid_inception_v3()'s
// or InceptionV3's ("blocks.<i>.<j>." prefixes); "*.num_batches_tracked"
// tensors are ignored; "fc.weight"/"fc.bias", when present, keep the
// 1008-class classifier. Names and shapes are checked before anything is
// allocated: the error lists the first mismatches of each kind.
func FIDInceptionFromCheckpoint(dev *nn.Device, c *nn.Checkpoint) (*Net, error) {
	var tensors []safetensors.Tensor
	seen := map[string]string{} // canonical name -> name in the file
	var dups []string
	for _, t := range c.File.Tensors {
		if strings.HasSuffix(t.Name, ".num_batches_tracked") {
			continue
		}
		name := fidCanonicalName(t.Name)
		if prev, ok := seen[name]; ok {
			dups = append(dups, fmt.Sprintf("%s and %s", prev, t.Name))
			continue
		}
		seen[name] = t.Name
		t.Name = name
		tensors = append(tensors, t)
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	file := &safetensors.File{Tensors: tensors, Metadata: c.File.Metadata}
	_, hasW := file.Get("fc.weight")
	_, hasB := file.Get("fc.bias")
	spec := FIDInceptionSpec(hasW || hasB)
	spec.Source = "pytorch-fid state_dict " + c.Path
	if fw, ok := file.Get("fc.weight"); ok && len(fw.Shape) == 2 && fw.Shape[0] != FIDInceptionClasses {
		return nil, fmt.Errorf("backbone: %s: fc.weight has %d classes, pytorch-fid's FID InceptionV3 has %d: this looks like torchvision's ImageNet InceptionV3, whose features are not the FID features", c.Path, fw.Shape[0], FIDInceptionClasses)
	}
	l, err := spec.Infer()
	if err != nil {
		panic("backbone: FIDInceptionSpec: " + err.Error()) // a bug in the spec, not the file
	}
	var missing, wrong, unknown []string
	want := map[string]bool{}
	for _, p := range l.Params {
		want[p.Name] = true
		t, ok := file.Get(p.Name)
		switch {
		case !ok:
			missing = append(missing, p.Name)
		case !slices.Equal(t.Shape, p.Shape):
			wrong = append(wrong, fmt.Sprintf("%s: file %v, want %v", p.Name, t.Shape, p.Shape))
		}
	}
	for _, t := range tensors {
		if !want[t.Name] {
			unknown = append(unknown, seen[t.Name])
		}
	}
	if len(missing)+len(wrong)+len(unknown)+len(dups) > 0 {
		var parts []string
		list := func(what string, items []string) {
			if len(items) == 0 {
				return
			}
			s := strings.Join(items[:min(len(items), fidMismatchShow)], ", ")
			if len(items) > fidMismatchShow {
				s += fmt.Sprintf(", ... (%d more)", len(items)-fidMismatchShow)
			}
			parts = append(parts, fmt.Sprintf("%d %s: %s", len(items), what, s))
		}
		list("shape mismatches", wrong)
		list("missing", missing)
		list("unexpected", unknown)
		list("duplicates (both namings)", dups)
		return nil, fmt.Errorf("backbone: %s does not match pytorch-fid's InceptionV3 (%d tensors expected): %s", c.Path, len(l.Params), strings.Join(parts, "; "))
	}
	return FromCheckpoint(dev, spec, &nn.Checkpoint{Path: c.Path, File: file, Metadata: c.Metadata})
}
