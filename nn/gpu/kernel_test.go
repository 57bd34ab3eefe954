package gpu

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"catsynth/nn/backend"
	"catsynth/shaders"
)

func TestSpecialize(t *testing.T) {
	src := "override OP: u32 = 0u;\n  override K: f32 = 1.5;\noverride N: i32;\nfn f() {}\n"
	tests := []struct {
		consts map[string]float64
		want   []string
	}{
		{map[string]float64{"N": 3}, []string{"const OP: u32 = 0u;", "const K: f32 = 1.5;", "const N: i32 = 3i;"}},
		{map[string]float64{"N": -2, "OP": 7, "K": 0.25}, []string{"const OP: u32 = 7u;", "const K: f32 = 0.25f;", "const N: i32 = -2i;"}},
	}
	for _, tc := range tests {
		got := specialize("t.wgsl", src, tc.consts)
		if strings.Contains(got, "override") {
			t.Errorf("%v: override left in:\n%s", tc.consts, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: missing %q in:\n%s", tc.consts, w, got)
			}
		}
	}
	for _, bad := range []map[string]float64{
		{"N": 1, "MISSING": 2}, // not declared
		{},                     // N has no default
		{"N": 1, "OP": -1},     // not a u32
		{"N": 1.5},             // not an i32
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("specialize(%v) did not panic", bad)
				}
			}()
			specialize("t.wgsl", src, bad)
		}()
	}
}

func TestGroups1D(t *testing.T) {
	for _, n := range []int{1, 64, 65, 64 * 32768, 64*32768 + 1, 64 * 65535 * 3} {
		g := groups1D(n, 64)
		if g[0] > 65535 || g[1] > 65535 || g[2] != 1 {
			t.Errorf("groups1D(%d) = %v exceeds 65535", n, g)
		}
		if int(g[0])*int(g[1])*64 < n {
			t.Errorf("groups1D(%d) = %v covers too little", n, g)
		}
	}
}

func TestPipelineCache(t *testing.T) {
	b := openGPU(t)
	c := map[string]float64{"OP": float64(backend.Abs)}
	k1 := b.kernel("elementwise.wgsl", "unary", 1, 1, c)
	n := b.compiles
	k2 := b.kernel("elementwise.wgsl", "unary", 1, 1, map[string]float64{"OP": float64(backend.Abs)})
	if k1 != k2 || b.compiles != n {
		t.Errorf("same kernel compiled twice (compiles %d -> %d)", n, b.compiles)
	}
	k3 := b.kernel("elementwise.wgsl", "unary", 1, 1, map[string]float64{"OP": float64(backend.Exp)})
	if k3 == k1 || b.compiles != n+1 {
		t.Errorf("different constants shared a pipeline (compiles %d -> %d)", n, b.compiles)
	}
	if k1.layout != k3.layout {
		t.Error("same signature got different bind layouts")
	}
}

// TestAllKernelsCompile compiles every entry point of the non-matmul files
// with each op code, so a WGSL error shows up here and not in a model run.
func TestAllKernelsCompile(t *testing.T) {
	b := openGPU(t)
	type entry struct {
		file, name    string
		reads, writes int
		consts        []map[string]float64
	}
	var unaryOps []map[string]float64
	for op := range backend.NumUnaryOps {
		unaryOps = append(unaryOps, map[string]float64{"OP": float64(op)})
	}
	var binOps []map[string]float64
	for op := range backend.NumBinaryOps {
		for r := 1; r <= backend.MaxRank; r++ {
			binOps = append(binOps, map[string]float64{"OP": float64(op), "RANK": float64(r)})
		}
	}
	pools := []map[string]float64{{"OP": 0}, {"OP": 1}}
	for _, e := range []entry{
		{"elementwise.wgsl", "fill", 0, 1, []map[string]float64{nil}},
		{"elementwise.wgsl", "unary", 1, 1, unaryOps},
		{"elementwise.wgsl", "unary_grad", 3, 1, unaryOps},
		{"elementwise.wgsl", "binary", 2, 1, binOps},
		{"copy.wgsl", "copy", 1, 1, []map[string]float64{{"RANK": 6}}},
		{"reduce.wgsl", "reduce", 1, 1, []map[string]float64{{"OP": 0, "KRANK": 6, "RRANK": 6}, {"OP": 1}}},
		{"resize.wgsl", "resize", 1, 1, []map[string]float64{nil}},
		{"resize.wgsl", "resize_grad", 1, 1, []map[string]float64{nil}},
		{"pad.wgsl", "pad", 1, 1, []map[string]float64{{"MODE": 1}, {"MODE": 2}}},
		{"pad.wgsl", "pad_grad", 1, 1, []map[string]float64{{"MODE": 1}, {"MODE": 2}}},
		{"pool.wgsl", "pool", 1, 1, pools},
		{"pool.wgsl", "pool_grad", 3, 1, pools},
		{"onehot.wgsl", "onehot", 1, 1, []map[string]float64{nil}},
		{"adam.wgsl", "adam", 1, 3, []map[string]float64{nil}},
	} {
		for _, c := range e.consts {
			b.kernel(e.file, e.name, e.reads, e.writes, c)
		}
	}
}

func TestPoolReuse(t *testing.T) {
	b := openGPU(t)
	x := alloc(t, b, 1000)
	created := b.pool.created
	b.Free(x)
	y := alloc(t, b, 900) // same bucket (4 KiB)
	if b.pool.created != created {
		t.Errorf("Alloc after Free created a buffer (created %d -> %d)", created, b.pool.created)
	}
	if y.Len() != 900 {
		t.Errorf("Len() = %d, want 900", y.Len())
	}
	z := alloc(t, b, 1000)
	if b.pool.created != created+1 {
		t.Errorf("second live buffer did not create one (created %d -> %d)", created, b.pool.created)
	}
	b.Free(y)
	b.Free(z)
}

func TestBucket(t *testing.T) {
	for _, tc := range []struct{ size, limit, want uint64 }{
		{4, 1 << 30, 256}, {256, 1 << 30, 256}, {257, 1 << 30, 384}, {384, 1 << 30, 384},
		{385, 1 << 30, 512}, {4000, 1 << 30, 4096}, {5000, 1 << 30, 6144}, {5000, 5500, 5000},
	} {
		if got := bucket(tc.size, tc.limit); got != tc.want {
			t.Errorf("bucket(%d, %d) = %d, want %d", tc.size, tc.limit, got, tc.want)
		}
	}
}

func TestAllocRefusesOverLimit(t *testing.T) {
	b := openGPU(t)
	saved := b.limits
	defer func() { b.limits = saved }()
	b.limits.MaxStorageBufferBindingSize = 4096
	if x, err := b.Alloc(1024); err != nil {
		t.Errorf("Alloc(1024) at a 4096-byte limit: %v", err)
	} else {
		b.Free(x)
	}
	_, err := b.Alloc(1025)
	if err == nil {
		t.Fatal("Alloc(1025) at a 4096-byte limit succeeded")
	}
	for _, w := range []string{"maxStorageBufferBindingSize", "4096", "4100"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	if _, err := b.Alloc(-1); err == nil {
		t.Error("Alloc(-1) succeeded")
	}
}

// TestSubmissionSplit queues more dispatches than one submission may hold
// and checks they run in several submissions, in order.
func TestSubmissionSplit(t *testing.T) {
	b := openGPU(t)
	saved := b.rec.budget
	defer func() { b.rec.budget = saved }()
	b.rec.budget.Dispatches = 8
	const n, steps = 1000, 50
	x := upload(t, b, make([]float32, n))
	y := alloc(t, b, n)
	before := b.rec.submits
	for range steps / 2 { // x -> y -> x, each +1
		b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 1, Beta: 1})
		b.Unary(backend.Affine, x, y, n, backend.Args{Alpha: 1, Beta: 1})
	}
	got := download(t, b, x, n)
	if subs := b.rec.submits - before; subs < steps/8 {
		t.Errorf("%d dispatches ran in %d submissions, want at least %d", steps, subs, steps/8)
	}
	for i, v := range got {
		if v != steps {
			t.Fatalf("x[%d] = %v, want %d", i, v, steps)
		}
	}
	// The work budget splits too.
	b.rec.budget = saved
	b.rec.budget.Work = 3 * 4 * n
	before = b.rec.submits
	b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 1, Beta: 1})
	b.Unary(backend.Affine, x, y, n, backend.Args{Alpha: 1, Beta: 1})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if subs := b.rec.submits - before; subs != 2 {
		t.Errorf("work budget of one dispatch: %d submissions, want 2", subs)
	}
	b.Free(x)
	b.Free(y)
}

func TestDownloadAfterFlush(t *testing.T) {
	b := openGPU(t)
	r := newRand(t, 7)
	v := randSlice(r, 333, -2, 2)
	x := upload(t, b, v)
	y := alloc(t, b, 333)
	b.Unary(backend.Square, y, x, 333, backend.Args{})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.rec.pending() {
		t.Error("work still pending after Flush")
	}
	got := download(t, b, y, 333)
	for i := range v {
		if got[i] != v[i]*v[i] {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], v[i]*v[i])
		}
	}
	if err := b.Flush(); err != nil { // nothing queued
		t.Fatal(err)
	}
	b.Free(x)
	b.Free(y)
}

// TestUploadAfterQueuedRead is the regression test for WriteBuffer landing
// before queued dispatches: a kernel recorded before an Upload must see the
// old contents, also when the buffer went through the pool in between.
func TestUploadAfterQueuedRead(t *testing.T) {
	b := openGPU(t)
	const n = 256
	ones := make([]float32, n)
	twos := make([]float32, n)
	for i := range ones {
		ones[i], twos[i] = 1, 2
	}
	x := upload(t, b, ones)
	y := alloc(t, b, n)
	b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 10})
	b.Free(x)
	x2 := alloc(t, b, n) // likely the same device buffer
	b.Upload(x2, twos)
	got := download(t, b, y, n)
	for i, v := range got {
		if v != 10 {
			t.Fatalf("y[%d] = %v, want 10 (the upload overtook the queued kernel)", i, v)
		}
	}
	if back := download(t, b, x2, n); back[0] != 2 {
		t.Errorf("uploaded value %v, want 2", back[0])
	}
	b.Free(x2)
	b.Free(y)
}

// TestLargeDispatch covers more than 65535 workgroups of 64 (n > 4M).
func TestLargeDispatch(t *testing.T) {
	b := openGPU(t)
	n := 64*65535 + 1000
	x := alloc(t, b, n)
	b.Fill(x, n, 3)
	y := alloc(t, b, n)
	b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 2, Beta: 1})
	got := download(t, b, y, n)
	for _, i := range []int{0, 64 * 32768, n - 1} {
		if got[i] != 7 {
			t.Errorf("y[%d] = %v, want 7", i, got[i])
		}
	}
	b.Free(x)
	b.Free(y)
}

// TestReduceChunked checks the two-pass reduction (few outputs, long rows)
// against a float64 loop, for sum and max.
func TestReduceChunked(t *testing.T) {
	b := openGPU(t)
	r := newRand(t, 11)
	shape := []int{3, 5, 40, 50} // per-channel reduction over N, H, W
	axes := []bool{true, false, true, true}
	n := prod(shape)
	v := randSlice(r, n, -1, 1)
	x := upload(t, b, v)
	for _, op := range []backend.ReduceOp{backend.Sum, backend.MaxReduce} {
		d := alloc(t, b, 5)
		b.Reduce(op, d, x, backend.Reduction{Shape: shape, Axes: axes})
		got := download(t, b, d, 5)
		want := make([]float32, 5)
		for c := range 5 {
			s, m := 0.0, -1e30
			for i := range v {
				if (i/2000)%5 == c {
					s += float64(v[i])
					m = max(m, float64(v[i]))
				}
			}
			want[c] = float32(s)
			if op == backend.MaxReduce {
				want[c] = float32(m)
			}
		}
		closeTo(t, op.String(), got, want, 1e-5)
		b.Free(d)
	}
	b.Free(x)
}

func TestNoAdapterMatch(t *testing.T) {
	openGPU(t)
	t.Setenv(AdapterEnv, "no-such-adapter-xyz")
	_, err := New()
	if err == nil || !strings.Contains(err.Error(), "no-such-adapter-xyz") {
		t.Errorf("New with %s unmatched: err = %v", AdapterEnv, err)
	}
}

// The scanners of specialize and source replaced two regexps (to keep
// regexp out of the page's wasm); the regexps stay here as the reference.
var (
	overrideRefRE = regexp.MustCompile(`(?m)^[ \t]*override[ \t]+(\w+)[ \t]*:[ \t]*(\w+)[ \t]*(?:=[ \t]*([^;]+))?;`)
	slotRefRE     = regexp.MustCompile(`(?m)^([ \t]*)\{\{(\w+)\}\}[ \t]*$`)
)

func specializeRef(src string, consts map[string]float64) string {
	return overrideRefRE.ReplaceAllStringFunc(src, func(decl string) string {
		m := overrideRefRE.FindStringSubmatch(decl)
		name, typ, def := m[1], m[2], strings.TrimSpace(m[3])
		if v, ok := consts[name]; ok {
			return fmt.Sprintf("const %s: %s = %s;", name, typ, wgslLiteral("ref", name, typ, v))
		}
		return fmt.Sprintf("const %s: %s = %s;", name, typ, def)
	})
}

// TestSpecializeMatchesRegexpReference: every shader, and lines made to
// probe the scanner's edges, come out as the reference regexp makes them.
func TestSpecializeMatchesRegexpReference(t *testing.T) {
	srcs := map[string]string{"edges": "override A: u32 = 3u; // trailing\n\t override  B :f32=2.5 ;x\n" +
		"overrideC: u32 = 1u;\n// override D: u32 = 1u;\nlet x = 1; override E: u32 = 2u;\n" +
		"override F: i32;\noverride : u32 = 1u;\n   override H: bool = true;"} // declarations are one line each (the regexp let a default run on over lines)
	files, err := fs.Glob(shaders.FS, "*.wgsl")
	if err != nil || len(files) == 0 {
		t.Fatalf("shaders: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		srcs[f] = shaders.Source(f)
	}
	srcs["elementwise.wgsl (generated)"] = source("elementwise.wgsl")
	overrides := 0
	for name, src := range srcs {
		consts := map[string]float64{}
		for _, m := range overrideRefRE.FindAllStringSubmatch(src, -1) {
			if strings.TrimSpace(m[3]) == "" || len(consts)%2 == 0 {
				consts[m[1]] = 1 // every other one (and those without a default) given a value
			}
			overrides++
		}
		if got, want := specialize(name, src, consts), specializeRef(src, consts); got != want {
			t.Errorf("%s: specialize differs from the reference regexp:\n%s\nwant:\n%s", name, got, want)
		}
	}
	if overrides < 10 {
		t.Fatalf("only %d override declarations seen: the reference found too few to mean anything", overrides)
	}
}

// TestSlotLineMatchesRegexpReference: slot lines are recognised as the
// reference regexp recognises them.
func TestSlotLineMatchesRegexpReference(t *testing.T) {
	for _, line := range []string{"{{unary_f}}", "\t  {{x_1}}  \t", "{{}}", "{{a b}}", "x {{a}}", "{{a}} x", "{a}", "{{a}", "  {{A9}}"} {
		m := slotRefRE.FindStringSubmatch(line)
		indent, name, ok := slotLine(line)
		if ok != (m != nil) || ok && (indent != m[1] || name != m[2]) {
			t.Errorf("slotLine(%q) = %q, %q, %v; the reference: %q", line, indent, name, ok, m)
		}
	}
}
