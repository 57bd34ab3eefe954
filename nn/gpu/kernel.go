package gpu

// How kernels run (read this before adding one)
//
// A kernel is one entry point of a WGSL file in shaders/, compiled into a
// compute pipeline once per (file, entry, reads, writes, constants) and cached:
//
//	k := b.kernel("elementwise.wgsl", "unary", 1, 1, map[string]float64{"OP": 3})
//
// Its bind group layout is fixed by two counts: bindings 0..reads-1 are
// read-only storage buffers (var<storage, read>), bindings
// reads..reads+writes-1 are read-write storage buffers (var<storage, read_write>),
// and binding reads+writes is one uniform block (var<uniform>), always
// present. Every buffer binding covers the whole Buffer (its pool bucket,
// possibly longer than Len()), so kernels take their sizes from the uniforms.
//
// constants replace `override NAME: TYPE = DEFAULT;` declarations of the file
// with `const NAME: TYPE = VALUE;` before compiling (the Go binding has no
// pipeline-constant field, and text substitution also lets the compiler fold
// every branch on the constant). Unset overrides keep their default. Each
// name in constants must be declared in the file. Before that, slot lines
// `{{name}}` are filled with code generated from Go (elementwise_wgsl.go).
//
// Recording a dispatch:
//
//	b.dispatch(k, []uint32{n, f32(alpha)}, groups1D(n, 64), x, dst)
//
// appends one dispatch to the open compute pass: buffers in binding order
// (reads then writes), uniforms as 32-bit words (use f32 for float values;
// the WGSL struct must match word for word, vec4-aligned arrays included),
// and a workgroup count. Nothing runs until a sync point: Download, Flush, an
// Upload to a buffer that queued work touches, or the submission budget
// (Backend.budget) being exceeded. Then the recorded pass is submitted as one
// command buffer. Keep single dispatches short on software adapters (split
// big work into several dispatches): lavapipe kills the process when one
// submission runs longer than about 5 s. Heavy kernels (matmul, conv) should
// call dispatchWork with their flop count so that the budget sees them;
// dispatch charges the bytes of the bound buffers.
//
// Errors raised while recording (bind group creation, validation) are kept
// and returned by the next Flush or Download. Compile errors of a kernel file
// panic: kernel sources are fixed program text, so they are programmer errors.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
)

// kernel is a compiled compute pipeline and the layout its dispatches bind.
type kernel struct {
	name          string // "file:entry{constants}", for messages
	pipeline      *wgpu.ComputePipeline
	layout        *bindLayout
	reads, writes int
}

type kernelKey struct {
	file, entry   string
	reads, writes int
	consts        string
}

// bindLayout is the bind group layout and pipeline layout for one
// (reads, writes) signature, shared by all kernels with that signature.
type bindLayout struct {
	group    *wgpu.BindGroupLayout
	pipeline *wgpu.PipelineLayout
}

// budget bounds the work recorded into one submission.
type budget struct {
	// Work is the estimated work (flops, or bytes touched for memory-bound
	// kernels) after which the recorder submits.
	Work float64
	// Dispatches is the most dispatches per submission.
	Dispatches int
	// InFlight is how many submissions may be queued before the host waits
	// for the device (bounds memory held by queued work).
	InFlight int
}

// f32 returns the bits of v, for float fields of a uniform block.
func f32(v float32) uint32 { return math.Float32bits(v) }

// wgSize is the workgroup size of the 1D kernels in shaders/ (WG there).
const wgSize = 64

// maxGroupsX is the largest workgroup count used along x by groups1D.
const maxGroupsX = 32768

// groups1D returns a 2D workgroup count that covers n invocations with
// workgroups of size wg and never exceeds 65535 along an axis. Kernels
// recover the linear index as gid.x + gid.y * num_workgroups.x * wg.
func groups1D(n, wg int) [3]uint32 {
	g := (n + wg - 1) / wg
	if g <= maxGroupsX {
		return [3]uint32{uint32(g), 1, 1}
	}
	return [3]uint32{maxGroupsX, uint32((g + maxGroupsX - 1) / maxGroupsX), 1}
}

// specialize returns src with every override declaration turned into a const
// holding consts[name] (or its default). It panics on an unknown name.
func specialize(file, src string, consts map[string]float64) string {
	used := map[string]bool{}
	var out strings.Builder
	for line := range strings.Lines(src) {
		d, ok := parseOverride(line)
		if !ok {
			out.WriteString(line)
			continue
		}
		v, ok := consts[d.name]
		if !ok {
			if d.def == "" {
				panic(fmt.Sprintf("gpu: %s: override %s has no default and no value", file, d.name))
			}
			fmt.Fprintf(&out, "const %s: %s = %s;", d.name, d.typ, d.def)
		} else {
			used[d.name] = true
			fmt.Fprintf(&out, "const %s: %s = %s;", d.name, d.typ, wgslLiteral(file, d.name, d.typ, v))
		}
		out.WriteString(line[d.end:])
	}
	for name := range consts {
		if !used[name] {
			panic(fmt.Sprintf("gpu: %s declares no override %s", file, name))
		}
	}
	return out.String()
}

// overrideDecl is `override NAME: TYPE [= DEFAULT];` at the start of a
// line (after spaces or tabs); end is the offset just past its semicolon.
type overrideDecl struct {
	name, typ, def string
	end            int
}

// parseOverride reads an override declaration from the start of line
// (false if the line does not start with one). A line scanner, not a
// regexp: regexp would add a quarter megabyte to the page's wasm.
func parseOverride(line string) (overrideDecl, bool) {
	var d overrideDecl
	i := skipBlank(line, 0)
	rest, ok := strings.CutPrefix(line[i:], "override")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return d, false
	}
	i = skipBlank(line, len(line)-len(rest))
	if d.name, i = word(line, i); d.name == "" {
		return d, false
	}
	if i = skipBlank(line, i); i >= len(line) || line[i] != ':' {
		return d, false
	}
	if d.typ, i = word(line, skipBlank(line, i+1)); d.typ == "" {
		return d, false
	}
	i = skipBlank(line, i)
	if i < len(line) && line[i] == '=' {
		semi := strings.IndexByte(line[i:], ';')
		if semi < 0 {
			return d, false
		}
		d.def = strings.TrimSpace(line[i+1 : i+semi])
		if d.def == "" {
			return d, false
		}
		i += semi
	}
	if i >= len(line) || line[i] != ';' {
		return d, false
	}
	d.end = i + 1
	return d, true
}

func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// word returns the run of letters, digits and underscores at s[i:] and the
// offset after it.
func word(s string, i int) (string, int) {
	j := i
	for j < len(s) && isWord(s[j:j+1]) {
		j++
	}
	return s[i:j], j
}

func wgslLiteral(file, name, typ string, v float64) string {
	switch typ {
	case "u32":
		if v < 0 || v != math.Trunc(v) || v > math.MaxUint32 {
			panic(fmt.Sprintf("gpu: %s: override %s: %v is not a u32", file, name, v))
		}
		return strconv.FormatUint(uint64(v), 10) + "u"
	case "i32":
		if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
			panic(fmt.Sprintf("gpu: %s: override %s: %v is not an i32", file, name, v))
		}
		return strconv.FormatInt(int64(v), 10) + "i"
	case "f32":
		return strconv.FormatFloat(v, 'g', -1, 32) + "f"
	case "bool":
		return strconv.FormatBool(v != 0)
	}
	panic(fmt.Sprintf("gpu: %s: override %s has unsupported type %s", file, name, typ))
}

func constKey(consts map[string]float64) string {
	if len(consts) == 0 {
		return ""
	}
	keys := make([]string, 0, len(consts))
	for k := range consts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%g,", k, consts[k])
	}
	return sb.String()
}

// kernel returns the cached pipeline of entry in shaders/file, compiling it
// on first use. reads and writes give the bind group layout (see the top of
// this file); constants specialize override declarations (nil for none).
func (b *Backend) kernel(file, entry string, reads, writes int, constants map[string]float64) *kernel {
	return b.kernelFiles([]string{file}, entry, reads, writes, constants)
}

// kernelFiles is kernel for a source made of several shaders/ files joined
// in order (shared helpers first), cached under the joined names.
func (b *Backend) kernelFiles(files []string, entry string, reads, writes int, constants map[string]float64) *kernel {
	file := strings.Join(files, "+")
	key := kernelKey{file, entry, reads, writes, constKey(constants)}
	if k, ok := b.kernels[key]; ok {
		return k
	}
	name := fmt.Sprintf("%s:%s{%s}", file, entry, key.consts)
	modKey := file + "{" + key.consts + "}"
	mod, ok := b.modules[modKey]
	if !ok {
		var src strings.Builder
		for _, f := range files {
			src.WriteString(source(f))
			src.WriteString("\n")
		}
		var err error
		mod, err = b.device.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
			Label:          modKey,
			WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: specialize(file, src.String(), constants)},
		})
		if err != nil {
			panic(fmt.Sprintf("gpu: compile %s: %v", modKey, err))
		}
		b.modules[modKey] = mod
	}
	lay := b.bindLayout(reads, writes)
	pipe, err := b.device.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Layout:  lay.pipeline,
		Compute: wgpu.ProgrammableStageDescriptor{Module: mod, EntryPoint: entry},
	})
	if err != nil {
		panic(fmt.Sprintf("gpu: create pipeline %s: %v", name, err))
	}
	b.compiles++
	k := &kernel{name: name, pipeline: pipe, layout: lay, reads: reads, writes: writes}
	b.kernels[key] = k
	return k
}

func (b *Backend) bindLayout(reads, writes int) *bindLayout {
	key := [2]int{reads, writes}
	if l, ok := b.layouts[key]; ok {
		return l
	}
	if reads < 0 || writes < 0 || reads+writes+1 > int(b.limits.MaxBindingsPerBindGroup) && b.limits.MaxBindingsPerBindGroup > 0 {
		panic(fmt.Sprintf("gpu: bind layout with %d reads, %d writes exceeds the device", reads, writes))
	}
	entries := make([]wgpu.BindGroupLayoutEntry, 0, reads+writes+1)
	for i := 0; i < reads+writes; i++ {
		t := wgpu.BufferBindingTypeReadOnlyStorage
		if i >= reads {
			t = wgpu.BufferBindingTypeStorage
		}
		entries = append(entries, wgpu.BindGroupLayoutEntry{
			Binding: uint32(i), Visibility: wgpu.ShaderStageCompute,
			Buffer: wgpu.BufferBindingLayout{Type: t},
		})
	}
	entries = append(entries, wgpu.BindGroupLayoutEntry{
		Binding: uint32(reads + writes), Visibility: wgpu.ShaderStageCompute,
		Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingTypeUniform},
	})
	label := fmt.Sprintf("r%dw%d", reads, writes)
	g, err := b.device.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: label, Entries: entries})
	if err != nil {
		panic(fmt.Sprintf("gpu: create bind group layout %s: %v", label, err))
	}
	p, err := b.device.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: label, BindGroupLayouts: []*wgpu.BindGroupLayout{g}})
	if err != nil {
		panic(fmt.Sprintf("gpu: create pipeline layout %s: %v", label, err))
	}
	l := &bindLayout{group: g, pipeline: p}
	b.layouts[key] = l
	return l
}

// dispatch records k over groups workgroups with bufs bound in order (reads,
// then writes) and uniforms as the uniform block. Its budget charge is the
// bytes of the bound buffers. A zero group count records nothing.
func (b *Backend) dispatch(k *kernel, uniforms []uint32, groups [3]uint32, bufs ...*Buffer) {
	work := 0.0
	for _, x := range bufs {
		work += 4 * float64(x.n)
	}
	b.dispatchWork(k, work, uniforms, groups, bufs...)
}

// dispatchWork is dispatch with an explicit budget charge (flops for
// compute-bound kernels; see budget).
func (b *Backend) dispatchWork(k *kernel, work float64, uniforms []uint32, groups [3]uint32, bufs ...*Buffer) {
	if len(bufs) != k.reads+k.writes {
		panic(fmt.Sprintf("gpu: %s takes %d buffers, got %d", k.name, k.reads+k.writes, len(bufs)))
	}
	for i, x := range bufs {
		if x == nil || x.buf == nil {
			panic(fmt.Sprintf("gpu: %s: buffer %d is nil or freed", k.name, i))
		}
	}
	for _, w := range bufs[k.reads:] {
		for _, r := range bufs[:k.reads] {
			if r == w {
				panic(fmt.Sprintf("gpu: %s: output buffer aliases an input", k.name))
			}
		}
	}
	maxG := b.limits.MaxComputeWorkgroupsPerDimension
	for _, g := range groups {
		if g == 0 {
			return
		}
		if maxG > 0 && g > maxG {
			panic(fmt.Sprintf("gpu: %s: %d workgroups exceed maxComputeWorkgroupsPerDimension %d", k.name, g, maxG))
		}
	}
	b.rec.record(k, work, uniforms, groups, bufs)
}
