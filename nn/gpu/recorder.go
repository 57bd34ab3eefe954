package gpu

import (
	"fmt"

	"github.com/cogentcore/webgpu/wgpu"
)

// uniformRing is the size of the uniform buffer that holds the uniform
// blocks of one submission; when it is full the recorder submits.
const uniformRing = 256 << 10

// uniformBind is the smallest size a uniform block is bound with (see record).
const uniformBind = 256

// recorder appends dispatches to one command encoder and compute pass and
// submits them at sync points or when the budget is exceeded.
type recorder struct {
	b        *Backend
	budget   budget
	enc      *wgpu.CommandEncoder
	pass     *wgpu.ComputePassEncoder
	groups   []*wgpu.BindGroup // bind groups of the open encoder
	ubuf     *wgpu.Buffer      // uniform ring (device side)
	uhost    []byte            // this submission's uniform blocks
	ualign   int               // minUniformBufferOffsetAlignment
	nDisp    int
	work     float64
	epoch    uint64 // bumped at each submission
	inFlight int
	submits  int // submissions so far (tests, Counts)
	dispatch int // dispatches recorded so far (Counts)
	err      error
	staging  *wgpu.Buffer // MapRead buffer for Download, grown on demand
	stageLen uint64
}

func (r *recorder) init(b *Backend) error {
	r.b = b
	r.epoch = 1
	r.ualign = int(b.limits.MinUniformBufferOffsetAlignment)
	if r.ualign < 16 {
		r.ualign = 256
	}
	if b.software {
		// lavapipe kills a submission running over ~5 s; at roughly
		// 1-10 GFLOP/s and a few GB/s, 5e8 units stays well below that.
		r.budget = budget{Work: 5e8, Dispatches: 256, InFlight: 2}
	} else {
		r.budget = budget{Work: 5e11, Dispatches: 2048, InFlight: 8}
	}
	var err error
	r.ubuf, err = b.device.CreateBuffer(&wgpu.BufferDescriptor{
		Label: "uniforms", Usage: wgpu.BufferUsageUniform | wgpu.BufferUsageCopyDst, Size: uniformRing,
	})
	if err != nil {
		return fmt.Errorf("gpu: create uniform buffer: %w", err)
	}
	return nil
}

func (r *recorder) release() {
	if r.pass != nil {
		endPass(r.pass)
		r.pass.Release()
		r.pass = nil
	}
	if r.enc != nil {
		r.enc.Release()
		r.enc = nil
	}
	r.releaseGroups()
	for _, x := range []*wgpu.Buffer{r.ubuf, r.staging} {
		if x != nil {
			x.Destroy()
			x.Release()
		}
	}
	r.ubuf, r.staging = nil, nil
}

func (r *recorder) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *recorder) takeErr() error {
	err := r.err
	r.err = nil
	return err
}

// pending reports whether the open encoder holds unsubmitted commands.
func (r *recorder) pending() bool { return r.enc != nil }

func (r *recorder) encoder() *wgpu.CommandEncoder {
	if r.enc == nil {
		enc, err := r.b.device.CreateCommandEncoder(nil)
		if err != nil {
			panic(fmt.Sprintf("gpu: create command encoder: %v", err))
		}
		r.enc = enc
	}
	return r.enc
}

func (r *recorder) computePass() *wgpu.ComputePassEncoder {
	if r.pass == nil {
		r.pass = r.encoder().BeginComputePass(nil)
	}
	return r.pass
}

func (r *recorder) endPass() {
	if r.pass != nil {
		if err := endPass(r.pass); err != nil {
			r.fail(fmt.Errorf("gpu: end compute pass: %w", err))
		}
		r.pass.Release()
		r.pass = nil
	}
}

func (r *recorder) record(k *kernel, work float64, uniforms []uint32, groups [3]uint32, bufs []*Buffer) {
	// Every uniform block is bound with at least uniformBind bytes: wgpu-native
	// checks the bound size against a stale pipeline's expectation when
	// consecutive pipelines share a bind group layout (a reduce followed by a
	// copy failed "bound with size 112 where the shader expects 144").
	usize := max((len(uniforms)*4+15)&^15, uniformBind)
	off := (len(r.uhost) + r.ualign - 1) / r.ualign * r.ualign
	if r.pending() && (off+usize > uniformRing || r.nDisp >= r.budget.Dispatches || r.work+work > r.budget.Work) {
		r.submit()
		off = 0
	}
	if usize > int(r.b.limits.MaxUniformBufferBindingSize) && r.b.limits.MaxUniformBufferBindingSize > 0 || usize > uniformRing {
		panic(fmt.Sprintf("gpu: %s: %d uniform bytes exceed the limit", k.name, usize))
	}
	r.uhost = append(r.uhost, make([]byte, off+usize-len(r.uhost))...)
	copy(r.uhost[off:], wgpu.ToBytes(uniforms))

	entries := make([]wgpu.BindGroupEntry, 0, len(bufs)+1)
	for i, x := range bufs {
		x.lastUse = r.epoch
		entries = append(entries, wgpu.BindGroupEntry{Binding: uint32(i), Buffer: x.buf, Size: x.size})
	}
	entries = append(entries, wgpu.BindGroupEntry{
		Binding: uint32(len(bufs)), Buffer: r.ubuf, Offset: uint64(off), Size: uint64(usize),
	})
	g, err := r.b.device.CreateBindGroup(&wgpu.BindGroupDescriptor{Layout: k.layout.group, Entries: entries})
	if err != nil {
		r.fail(fmt.Errorf("gpu: %s: create bind group: %w", k.name, err))
		return
	}
	r.groups = append(r.groups, g)
	p := r.computePass()
	p.SetPipeline(k.pipeline)
	p.SetBindGroup(0, g, nil)
	p.DispatchWorkgroups(groups[0], groups[1], groups[2])
	r.nDisp++
	r.dispatch++
	r.work += work
}

// submit finishes the open encoder (if any), uploads this submission's
// uniform blocks and submits. Every few submissions it waits for the
// device, so that queued work (and its memory) stays bounded.
func (r *recorder) submit() {
	if r.enc == nil {
		return
	}
	r.endPass()
	if len(r.uhost) > 0 {
		if err := writeBuffer(r.b.queue, r.ubuf, r.uhost); err != nil {
			r.fail(fmt.Errorf("gpu: write uniforms: %w", err))
		}
	}
	cb, err := r.enc.Finish(nil)
	r.enc.Release()
	r.enc = nil
	if err != nil {
		r.fail(fmt.Errorf("gpu: finish command buffer: %w", err))
	} else {
		submit(r.b.queue, cb)
		cb.Release()
	}
	r.releaseGroups()
	r.uhost = r.uhost[:0]
	r.nDisp, r.work = 0, 0
	r.epoch++
	r.submits++
	r.inFlight++
	if r.inFlight >= r.budget.InFlight {
		waitIdle(r.b.device)
		r.inFlight = 0
	} else {
		pollNoWait(r.b.device)
	}
}

func (r *recorder) releaseGroups() {
	for _, g := range r.groups {
		g.Release()
	}
	r.groups = r.groups[:0]
}

// download copies src to a staging buffer at the end of the queued work,
// submits, waits for the device and reads the values back.
func (r *recorder) download(src *Buffer, dst []float32) error {
	size := uint64(len(dst)) * 4
	if r.staging == nil || r.stageLen < size {
		if r.staging != nil {
			r.staging.Destroy()
			r.staging.Release()
		}
		n := bucket(size, src.size)
		var err error
		r.staging, err = r.b.device.CreateBuffer(&wgpu.BufferDescriptor{
			Label: "staging", Usage: wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst, Size: n,
		})
		if err != nil {
			r.staging = nil
			return fmt.Errorf("gpu: create staging buffer: %w", err)
		}
		r.stageLen = n
	}
	r.endPass()
	if err := r.encoder().CopyBufferToBuffer(src.buf, 0, r.staging, 0, size); err != nil {
		r.fail(fmt.Errorf("gpu: copy to staging: %w", err))
	}
	r.submit()
	r.inFlight = 0
	if err := r.takeErr(); err != nil {
		return err
	}
	out := make([]byte, size)
	if err := readMapped(r.b.device, r.staging, out); err != nil {
		return fmt.Errorf("gpu: download: %w", err)
	}
	copy(dst, wgpu.FromBytes[float32](out))
	return nil
}

// Counts returns the compute dispatches recorded and the queue submissions
// made since the backend was opened. Per-dispatch and per-submit overhead
// dominates small kernels on software adapters and in the browser, so the
// benchmarks report them per image and per training step.
func (b *Backend) Counts() (dispatches, submits int) {
	return b.rec.dispatch, b.rec.submits
}
