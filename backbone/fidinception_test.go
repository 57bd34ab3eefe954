package backbone

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// fidConv is one BasicConv2d of pytorch-fid's InceptionV3, written by hand
// from torchvision's Inception3 / pytorch-fid's FIDInception* sources.
type fidConv struct {
	name            string
	in, out, kh, kw int
}

// fidTable lists every BasicConv2d in state_dict order.
func fidTable() []fidConv {
	t := []fidConv{
		{"Conv2d_1a_3x3", 3, 32, 3, 3}, {"Conv2d_2a_3x3", 32, 32, 3, 3}, {"Conv2d_2b_3x3", 32, 64, 3, 3},
		{"Conv2d_3b_1x1", 64, 80, 1, 1}, {"Conv2d_4a_3x3", 80, 192, 3, 3},
	}
	a := func(m string, in, pf int) {
		t = append(t, fidConv{m + ".branch1x1", in, 64, 1, 1}, fidConv{m + ".branch5x5_1", in, 48, 1, 1}, fidConv{m + ".branch5x5_2", 48, 64, 5, 5},
			fidConv{m + ".branch3x3dbl_1", in, 64, 1, 1}, fidConv{m + ".branch3x3dbl_2", 64, 96, 3, 3}, fidConv{m + ".branch3x3dbl_3", 96, 96, 3, 3},
			fidConv{m + ".branch_pool", in, pf, 1, 1})
	}
	c := func(m string, c7 int) {
		t = append(t, fidConv{m + ".branch1x1", 768, 192, 1, 1},
			fidConv{m + ".branch7x7_1", 768, c7, 1, 1}, fidConv{m + ".branch7x7_2", c7, c7, 1, 7}, fidConv{m + ".branch7x7_3", c7, 192, 7, 1},
			fidConv{m + ".branch7x7dbl_1", 768, c7, 1, 1}, fidConv{m + ".branch7x7dbl_2", c7, c7, 7, 1}, fidConv{m + ".branch7x7dbl_3", c7, c7, 1, 7},
			fidConv{m + ".branch7x7dbl_4", c7, c7, 7, 1}, fidConv{m + ".branch7x7dbl_5", c7, 192, 1, 7},
			fidConv{m + ".branch_pool", 768, 192, 1, 1})
	}
	e := func(m string, in int) {
		t = append(t, fidConv{m + ".branch1x1", in, 320, 1, 1},
			fidConv{m + ".branch3x3_1", in, 384, 1, 1}, fidConv{m + ".branch3x3_2a", 384, 384, 1, 3}, fidConv{m + ".branch3x3_2b", 384, 384, 3, 1},
			fidConv{m + ".branch3x3dbl_1", in, 448, 1, 1}, fidConv{m + ".branch3x3dbl_2", 448, 384, 3, 3},
			fidConv{m + ".branch3x3dbl_3a", 384, 384, 1, 3}, fidConv{m + ".branch3x3dbl_3b", 384, 384, 3, 1},
			fidConv{m + ".branch_pool", in, 192, 1, 1})
	}
	a("Mixed_5b", 192, 32)
	a("Mixed_5c", 256, 64)
	a("Mixed_5d", 288, 64)
	t = append(t, fidConv{"Mixed_6a.branch3x3", 288, 384, 3, 3}, fidConv{"Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1},
		fidConv{"Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3}, fidConv{"Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3})
	c("Mixed_6b", 128)
	c("Mixed_6c", 160)
	c("Mixed_6d", 160)
	c("Mixed_6e", 192)
	t = append(t, fidConv{"Mixed_7a.branch3x3_1", 768, 192, 1, 1}, fidConv{"Mixed_7a.branch3x3_2", 192, 320, 3, 3},
		fidConv{"Mixed_7a.branch7x7x3_1", 768, 192, 1, 1}, fidConv{"Mixed_7a.branch7x7x3_2", 192, 192, 1, 7},
		fidConv{"Mixed_7a.branch7x7x3_3", 192, 192, 7, 1}, fidConv{"Mixed_7a.branch7x7x3_4", 192, 192, 3, 3})
	e("Mixed_7b", 1280)
	e("Mixed_7c", 2048)
	return t
}

// fidExpected expands the table into state_dict tensors (name -> shape).
func fidExpected(classifier bool) map[string][]int {
	m := map[string][]int{}
	for _, c := range fidTable() {
		m[c.name+".conv.weight"] = []int{c.out, c.in, c.kh, c.kw}
		for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			m[c.name+".bn."+s] = []int{c.out}
		}
	}
	if classifier {
		m["fc.weight"] = []int{1008, 2048}
		m["fc.bias"] = []int{1008}
	}
	return m
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func TestFIDInceptionSpecParams(t *testing.T) {
	// Derivation of the learnable count without fc: torchvision's
	// inception_v3 (1000 classes, aux head) has 27,161,264 parameters
	// (its model table). Minus AuxLogits: conv0 768*128 + 2*128 = 98,560,
	// conv1 128*768*25 + 2*768 = 2,459,136, fc 768*1000 + 1000 = 769,000;
	// minus fc 2048*1000 + 1000 = 2,049,000: 21,785,568. pytorch-fid's FID
	// blocks change only pools, so the count is the same.
	const learnableNoFC = 27161264 - (98560 + 2459136 + 769000) - 2049000
	for _, classifier := range []bool{false, true} {
		t.Run(fmt.Sprintf("classifier=%v", classifier), func(t *testing.T) {
			spec := FIDInceptionSpec(classifier)
			l, err := spec.Infer()
			if err != nil {
				t.Fatal(err)
			}
			want := fidExpected(classifier)
			got := map[string][]int{}
			total, learnable := 0, 0
			for _, p := range l.Params {
				got[p.Name] = p.Shape
				total += numel(p.Shape)
				if !strings.HasSuffix(p.Name, ".running_mean") && !strings.HasSuffix(p.Name, ".running_var") {
					learnable += numel(p.Shape)
				}
				if w, ok := want[p.Name]; !ok {
					t.Errorf("unexpected tensor %s %v", p.Name, p.Shape)
				} else if !slices.Equal(w, p.Shape) {
					t.Errorf("%s: shape %v, want %v", p.Name, p.Shape, w)
				}
			}
			for n := range want {
				if _, ok := got[n]; !ok {
					t.Errorf("missing tensor %s", n)
				}
			}
			if len(l.Params) != len(want) {
				t.Errorf("%d tensors, want %d", len(l.Params), len(want))
			}
			// 94 BasicConv2d of 5 tensors each, plus fc.
			wantN := 94 * 5
			wantLearn := learnableNoFC
			if classifier {
				wantN += 2
				wantLearn += 2048*1008 + 1008
			}
			if len(l.Params) != wantN || learnable != wantLearn {
				t.Errorf("%d tensors, %d learnable values; want %d, %d", len(l.Params), learnable, wantN, wantLearn)
			}
			t.Logf("%d tensors, %d values in the state_dict (%d learnable)", len(l.Params), total, learnable)
			if fd := l.Shapes[spec.Features]; !slices.Equal(fd, []int{2048}) {
				t.Errorf("features %v, want [2048]", fd)
			}
			if spec.InputH != 299 || spec.InputW != 299 || spec.InputScale != 2 || spec.InputShift != -1 {
				t.Errorf("input %dx%d, x*%g%+g; want 299x299, x*2-1", spec.InputH, spec.InputW, spec.InputScale, spec.InputShift)
			}
		})
	}
}

// The FID-specific pools: avg with count_include_pad=False in A, C and E_1,
// max in E_2 (Mixed_7c), stride-2 max in B and D; 8x8 before the pool.
func TestFIDInceptionSpecPools(t *testing.T) {
	spec := FIDInceptionSpec(false)
	l, err := spec.Infer()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Node{}
	for _, nd := range spec.Nodes {
		byName[nd.Name] = nd
	}
	cases := []struct {
		node, op string
		stride   int
		exclude  bool
	}{
		{"Mixed_5b.avg_pool", OpAvgPool, 1, true}, {"Mixed_5d.avg_pool", OpAvgPool, 1, true},
		{"Mixed_6a.max_pool", OpMaxPool, 2, false}, {"Mixed_6e.avg_pool", OpAvgPool, 1, true},
		{"Mixed_7a.max_pool", OpMaxPool, 2, false}, {"Mixed_7b.avg_pool", OpAvgPool, 1, true},
		{"Mixed_7c.max_pool", OpMaxPool, 1, false},
	}
	for _, c := range cases {
		nd, ok := byName[c.node]
		if !ok || nd.Op != c.op || nd.StrideH != c.stride || nd.ExcludePad != c.exclude || nd.KH != 3 {
			t.Errorf("%s: %+v, want %s stride %d exclude_pad %v", c.node, nd, c.op, c.stride, c.exclude)
		}
	}
	if _, ok := byName["Mixed_7c.avg_pool"]; ok {
		t.Errorf("Mixed_7c has an average pool; pytorch-fid's FIDInceptionE_2 uses max")
	}
	for name, want := range map[string][]int{"maxpool2": {192, 35, 35}, "Mixed_5b": {256, 35, 35}, "Mixed_6e": {768, 17, 17}, "Mixed_7c": {2048, 8, 8}} {
		if !slices.Equal(l.Shapes[name], want) {
			t.Errorf("%s: shape %v, want %v", name, l.Shapes[name], want)
		}
	}
}

// fidRandomTensors returns He-scaled random weights with identity-like batch
// norms, named as in fid_inception_v3().state_dict().
func fidRandomTensors(seed uint64, classifier bool) []safetensors.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	var ts []safetensors.Tensor
	for name, shape := range fidExpected(classifier) {
		d := make([]float32, numel(shape))
		fanIn := numel(shape[1:])
		for i := range d {
			switch {
			case strings.HasSuffix(name, "running_var"), strings.HasSuffix(name, "bn.weight"):
				d[i] = float32(0.8 + 0.4*r.Float64())
			case strings.HasSuffix(name, "running_mean"), strings.HasSuffix(name, "bias"):
				d[i] = float32(0.1 * r.NormFloat64())
			default:
				d[i] = float32(r.NormFloat64() * math.Sqrt(2/float64(fanIn)))
			}
		}
		ts = append(ts, safetensors.Tensor{Name: name, Shape: shape, Data: d})
	}
	slices.SortFunc(ts, func(a, b safetensors.Tensor) int { return strings.Compare(a.Name, b.Name) })
	return ts
}

// A pytorch_fid InceptionV3 state_dict ("blocks.i.j." names, num_batches_tracked)
// written as safetensors is recognised by Load and yields 2048-d features.
func TestFIDInceptionLoadAndForward(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ts := fidRandomTensors(seed, false)
	var file []safetensors.Tensor
	inv := map[string]string{}
	for i, mods := range fidBlockModules {
		for j, m := range mods {
			inv[m] = fmt.Sprintf("blocks.%d.%d", i, j)
		}
	}
	for _, tn := range ts {
		mod, rest, _ := strings.Cut(tn.Name, ".")
		tn.Name = inv[mod] + "." + rest
		file = append(file, tn)
		if strings.HasSuffix(rest, "bn.running_var") {
			file = append(file, safetensors.Tensor{Name: inv[mod] + "." + strings.TrimSuffix(rest, "running_var") + "num_batches_tracked", Data: []float32{0}})
		}
	}
	path := filepath.Join(t.TempDir(), "pt_inception.safetensors")
	if err := safetensors.WriteFile(path, file, nil, safetensors.WriteOptions{F16: true}); err != nil {
		t.Fatal(err)
	}
	net, err := Load(dev, path)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	if net.Spec.Output != "pool" || !strings.Contains(net.Spec.Name, "pytorch-fid") {
		t.Errorf("spec %q output %q", net.Spec.Name, net.Spec.Output)
	}
	// Inception's smallest input, 75x75, keeps the test fast; Mixed_7c is then 1x1.
	spec := net.Spec
	spec.InputH, spec.InputW = 75, 75
	small, err := New(dev, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	for _, p := range net.Params() {
		d, _ := p.T.Data()
		if err := small.SetParam(p.Name, d); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(seed, 1))
	xd := make([]float32, 2*3*75*75)
	for i := range xd {
		xd[i] = r.Float32()
	}
	ys, err := small.Forward(dev.FromData(xd, 2, 3, 75, 75), "pool")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ys[0].Data()
	if !slices.Equal(ys[0].Shape(), []int{2, 2048}) {
		t.Fatalf("features %v, want [2 2048]", ys[0].Shape())
	}
	pos := 0
	for _, v := range f {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
			t.Fatalf("feature %g: want finite, >= 0 (pooled ReLUs)", v)
		}
		if v > 0 {
			pos++
		}
	}
	if pos < len(f)/10 {
		t.Errorf("only %d of %d features positive", pos, len(f))
	}
	if slices.Equal(f[:2048], f[2048:]) {
		t.Errorf("two different images gave the same features")
	}
}

// Files that are not the network are refused with the first mismatches.
func TestFIDInceptionMismatch(t *testing.T) {
	ts := fidRandomTensors(3, true)
	drop := func(prefix string) []safetensors.Tensor {
		return slices.DeleteFunc(slices.Clone(ts), func(x safetensors.Tensor) bool { return strings.HasPrefix(x.Name, prefix) })
	}
	reshape := func(name string, shape ...int) []safetensors.Tensor {
		out := slices.Clone(ts)
		for i := range out {
			if out[i].Name == name {
				out[i].Shape = shape
			}
		}
		return out
	}
	cases := []struct {
		name    string
		tensors []safetensors.Tensor
		want    []string
	}{
		// Mixed_7a has 6 BasicConv2d, 7b and 7c 9 each: 24 x 5 tensors.
		{"truncated", drop("Mixed_7"), []string{"120 missing: Mixed_7a.branch3x3_1.conv.weight", "(114 more)"}},
		{"shape", reshape("Mixed_5b.branch1x1.conv.weight", 64, 192, 3, 3), []string{"1 shape mismatches: Mixed_5b.branch1x1.conv.weight: file [64 192 3 3], want [64 192 1 1]"}},
		{"unexpected", append(slices.Clone(ts), safetensors.Tensor{Name: "AuxLogits.fc.weight", Shape: []int{1000, 768}}), []string{"1 unexpected: AuxLogits.fc.weight"}},
		{"torchvision", reshape("fc.weight", 1000, 2048), []string{"1000 classes", "torchvision"}},
	}
	dev, _ := nn.Open("cpu")
	for _, c := range cases {
		slices.SortFunc(c.tensors, func(a, b safetensors.Tensor) int { return strings.Compare(a.Name, b.Name) })
		ck := &nn.Checkpoint{Path: c.name + ".safetensors", File: &safetensors.File{Tensors: c.tensors}, Metadata: map[string]string{MetaArchitecture: FIDInceptionArch}}
		if !IsFIDInception(ck) {
			t.Errorf("%s: not recognised", c.name)
		}
		_, err := FIDInceptionFromCheckpoint(dev, ck)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want %q", c.name, err, w)
			}
		}
	}
	// A file cut short on disk fails to read, with the reader's error.
	good := filepath.Join(t.TempDir(), "good.safetensors")
	if err := safetensors.WriteFile(good, ts[:20], map[string]string{MetaArchitecture: FIDInceptionArch}, safetensors.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	cut := filepath.Join(t.TempDir(), "cut.safetensors")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dev, cut); err == nil {
		t.Errorf("truncated file: no error")
	}
	if _, err := Load(dev, good); err == nil || !strings.Contains(err.Error(), "does not match pytorch-fid") {
		t.Errorf("20-tensor file: err = %v", err)
	}
}
