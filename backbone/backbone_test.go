package backbone

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"

	"catsynth/nn"
)

func conv(name, in string, out, k, stride int, same bool) Node {
	return Node{Name: name, Op: OpConv, Inputs: []string{in}, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride, Same: same}
}

func TestInferErrors(t *testing.T) {
	in := Node{Name: "x", Op: OpInput}
	cases := []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"no input", []Node{conv("c", "x", 4, 3, 1, false)}, "first node"},
		{"undefined", []Node{in, conv("c", "y", 4, 3, 1, false)}, "not defined"},
		{"duplicate", []Node{in, conv("x", "x", 4, 3, 1, false)}, "used twice"},
		{"op", []Node{in, {Name: "c", Op: "warp", Inputs: []string{"x"}}}, "unknown op"},
		{"act", []Node{in, {Name: "c", Op: OpAct, Act: "swish", Inputs: []string{"x"}}}, "unknown activation"},
		{"groups", []Node{in, {Name: "c", Op: OpConv, Inputs: []string{"x"}, Out: 4, KH: 1, KW: 1, Groups: 2}}, "groups"},
		{"too small", []Node{in, conv("c", "x", 4, 9, 1, false)}, "output shape"},
		{"add shapes", []Node{in, conv("c", "x", 4, 1, 1, false), {Name: "a", Op: OpAdd, Inputs: []string{"x", "c"}}}, "adding shapes"},
		{"concat axis", []Node{in, {Name: "a", Op: OpConcat, Axis: 4, Inputs: []string{"x", "x"}}}, "axis"},
		{"pool pad", []Node{in, {Name: "p", Op: OpMaxPool, KH: 2, KW: 2, StrideH: 2, Same: true, Inputs: []string{"x"}}}, "symmetric"},
		{"dense rank", []Node{in, {Name: "d", Op: OpDense, Out: 2, Inputs: []string{"x"}}}, "rank-1"},
	}
	for _, c := range cases {
		s := Spec{Name: "t", InputC: 3, InputH: 5, InputW: 5, Nodes: c.nodes}
		if _, err := s.Infer(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := (&Spec{Name: "t", Nodes: []Node{in}}).Infer(); err == nil {
		t.Errorf("zero input size: no error")
	}
}

func TestSamePadding(t *testing.T) {
	// TensorFlow: output ceil(in/stride); the odd padding pixel goes after.
	cases := []struct{ in, k, s, before, after int }{
		{224, 3, 2, 0, 1}, {225, 3, 2, 1, 1}, {7, 3, 1, 1, 1}, {4, 1, 2, 0, 0}, {5, 7, 1, 3, 3}, {2, 3, 2, 0, 1},
	}
	for _, c := range cases {
		b, a := samePad(c.in, c.k, c.s)
		if b != c.before || a != c.after {
			t.Errorf("samePad(%d, k=%d, s=%d) = %d, %d; want %d, %d", c.in, c.k, c.s, b, a, c.before, c.after)
		}
	}
}

func randomize(t *testing.T, net *Net, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0))
	for _, p := range net.Params() {
		d := make([]float32, p.T.Numel())
		for i := range d {
			d[i] = float32(r.NormFloat64() * 0.5)
			if strings.HasSuffix(p.Name, "running_var") {
				d[i] = float32(0.5 + r.Float64())
			}
		}
		if err := net.SetParam(p.Name, d); err != nil {
			t.Fatal(err)
		}
	}
}

// A net whose conv feeds a batch norm and a second reader (so the norm is
// not folded) must agree with the same net where it is folded.
func TestFoldingMatchesUnfolded(t *testing.T) {
	const seed = 4
	t.Logf("seed %d", seed)
	dev, _ := nn.Open("cpu")
	nodes := func(extra bool) []Node {
		ns := []Node{{Name: "x", Op: OpInput}, conv("c", "x", 6, 3, 2, true),
			{Name: "bn", Op: OpBN, Inputs: []string{"c"}, Eps: 1e-3, Scale: true, Center: true},
			{Name: "gap", Op: OpGAP, Inputs: []string{"bn"}}}
		if extra {
			ns = append(ns, Node{Name: "other", Op: OpGAP, Inputs: []string{"c"}})
		}
		return ns
	}
	out := map[bool][]float32{}
	for _, extra := range []bool{false, true} {
		net, err := New(dev, Spec{Name: "f", InputC: 3, InputH: 7, InputW: 8, Nodes: nodes(extra), Features: "gap", Output: "gap"})
		if err != nil {
			t.Fatal(err)
		}
		randomize(t, net, seed)
		r := rand.New(rand.NewPCG(seed, 1))
		xd := make([]float32, 2*3*7*8)
		for i := range xd {
			xd[i] = r.Float32()
		}
		x := dev.FromData(xd, 2, 3, 7, 8)
		ys, err := net.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		out[extra], _ = ys[0].Data()
		if _, folded := net.folded["c"]; folded == extra {
			t.Errorf("extra reader %v: folded %v", extra, folded)
		}
		net.Release()
	}
	for i := range out[false] {
		if math.Abs(float64(out[false][i]-out[true][i])) > 1e-5 {
			t.Fatalf("folded %v vs unfolded %v", out[false], out[true])
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dev, _ := nn.Open("cpu")
	spec := Spec{Name: "rt", Source: "test", InputC: 3, InputH: 6, InputW: 6, InputScale: 2, InputShift: -1, Output: "d", Features: "f",
		Nodes: []Node{{Name: "x", Op: OpInput}, conv("c", "x", 4, 3, 1, true), {Name: "p", Op: OpAvgPool, KH: 3, KW: 3, StrideH: 1, StrideW: 1, Same: true, ExcludePad: true, Inputs: []string{"c"}},
			{Name: "f", Op: OpFlatten, ChannelsLast: true, Inputs: []string{"p"}}, {Name: "d", Op: OpDense, Out: 3, Bias: true, Act: ActSoftmax, Inputs: []string{"f"}}}}
	net, err := New(dev, spec)
	if err != nil {
		t.Fatal(err)
	}
	randomize(t, net, 2)
	path := filepath.Join(t.TempDir(), "b.safetensors.zst")
	if err := net.Save(path, false); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dev, path)
	if err != nil {
		t.Fatal(err)
	}
	x := dev.Full(0.3, 1, 3, 6, 6)
	a, _ := net.Forward(x, "d", "f")
	b, _ := back.Forward(x, "d", "f")
	for i := range a {
		da, _ := a[i].Data()
		db, _ := b[i].Data()
		for k := range da {
			if da[k] != db[k] {
				t.Fatalf("output %d differs after reload: %v vs %v", i, da, db)
			}
		}
	}
	if back.Spec.Name != "rt" || back.Spec.InputShift != -1 {
		t.Errorf("spec after reload: %+v", back.Spec)
	}
	if _, err := back.Forward(dev.Zeros(1, 3, 5, 6)); err == nil {
		t.Errorf("wrong input size: no error")
	}
	// A checkpoint that is not a backbone is refused.
	ps := nn.NewParams(dev, 0)
	ps.New("w", nn.ZerosInit, 2)
	other := filepath.Join(t.TempDir(), "o.safetensors")
	if err := nn.SaveParams(other, ps.All(), nn.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dev, other); err == nil || !strings.Contains(err.Error(), "not a catsynth backbone") {
		t.Errorf("loading a non-backbone: %v", err)
	}
}

func TestPadZerosAndPoolFraction(t *testing.T) {
	dev, _ := nn.Open("cpu")
	x := dev.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	y := PadZeros(x, 1, 0, 0, 2)
	got, _ := y.Data()
	want := []float32{0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0}
	if len(got) != len(want) || y.Dim(2) != 3 || y.Dim(3) != 4 {
		t.Fatalf("PadZeros shape %v", y.Shape())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("PadZeros = %v, want %v", got, want)
		}
	}
	// 3x3 window, stride 1, pad 1 over 3x3: corners see 4 pixels, edges 6, centre 9.
	f := poolFraction(3, 3, 3, 3, 3, 1, 1)
	wantF := []float32{4, 6, 4, 6, 9, 6, 4, 6, 4}
	for i := range wantF {
		if math.Abs(float64(f[i]-wantF[i]/9)) > 1e-7 {
			t.Fatalf("poolFraction = %v", f)
		}
	}
}

// failingDownloads is the CPU backend whose downloads fail, as a lost GPU
// device's do.
type failingDownloads struct{ backend.Backend }

func (failingDownloads) Download(backend.Buffer, []float32) error {
	return errors.New("device lost (test)")
}

// TestCompileReadErrorIsAnError is the regression test for Compile
// panicking when reading the weights back failed (a lost device): it must
// return the error.
func TestCompileReadErrorIsAnError(t *testing.T) {
	dev := nn.NewDevice(failingDownloads{cpu.New()})
	net, err := New(dev, Spec{Name: "f", InputC: 3, InputH: 7, InputW: 8, Nodes: []Node{{Name: "x", Op: OpInput}, conv("c", "x", 6, 3, 2, true),
		{Name: "bn", Op: OpBN, Inputs: []string{"c"}, Eps: 1e-3, Scale: true, Center: true},
		{Name: "gap", Op: OpGAP, Inputs: []string{"bn"}}}, Features: "gap", Output: "gap"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	if err := net.Compile(); err == nil || !strings.Contains(err.Error(), "device lost") {
		t.Fatalf("Compile with failing reads: %v, want the device's error", err)
	}
}
