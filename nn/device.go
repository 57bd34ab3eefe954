package nn

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"

	"catsynth/nn/backend"
	"catsynth/nn/backend/faultinject"
)

// Device wraps a backend with tensor creation, buffer scopes and the autograd
// switch. A Device is used by one goroutine at a time.
type Device struct {
	be       backend.Backend
	fallback string

	scopes      []*Scope
	gradEnabled bool
	live        int // buffers allocated through this device and not yet freed
	closed      bool
	// composeFused makes the norms and Modulate compose the primitives even
	// when the backend has fused kernels (the reference in tests).
	composeFused bool
}

// NewDevice wraps a backend. Most callers use Open.
func NewDevice(be backend.Backend) *Device {
	return &Device{be: be, gradEnabled: true}
}

// Backend returns the wrapped backend.
func (d *Device) Backend() backend.Backend { return d.be }

// Name is the backend's name ("cpu", "gpu: ...").
func (d *Device) Name() string { return d.be.Name() }

// isSoftware reports a backend that says it runs on a software adapter.
func isSoftware(be backend.Backend) bool {
	sw, ok := be.(interface{ Software() bool })
	return ok && sw.Software()
}

// FallbackReason says why Open("auto") chose the CPU backend ("" if it did not fall back).
func (d *Device) FallbackReason() string { return d.fallback }

// LiveBuffers is the number of buffers allocated through this device and not
// yet released (for leak tests and logs).
func (d *Device) LiveBuffers() int { return d.live }

// Close frees the backend's device resources (GPU buffers, pipelines, the
// device itself) now rather than when the process ends: the web page opens
// a new device after a device loss or a restart, and the old one would
// otherwise hold its memory until the garbage collector finds it. Neither
// d nor its tensors may be used after. Closing twice does nothing.
func (d *Device) Close() {
	if d.closed {
		return
	}
	d.closed = true
	release(d.be)
}

// release frees a backend's device resources when it has any to free.
func release(be backend.Backend) {
	if r, ok := be.(interface{ Release() }); ok {
		r.Release()
	}
}

// Flush submits queued work without waiting.
func (d *Device) Flush() error { return d.be.Flush() }

var (
	registryMu sync.Mutex
	registry   = map[string]func() (backend.Backend, error){}
)

// RegisterBackend makes a backend available to Open under name ("cpu",
// "gpu"). Backends register in init; registering a name twice panics.
func RegisterBackend(name string, open func() (backend.Backend, error)) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("nn: RegisterBackend called twice for " + name)
	}
	registry[name] = open
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnvBackend is the environment variable Open("") reads.
const EnvBackend = "CATSYNTH_BACKEND"

// EnvLoseDeviceAfter is the environment variable that makes Open's device
// fail as a lost GPU device does after that many downloads (package
// faultinject): a way to check, on any machine, that a run stops with the
// error and keeps its last checkpoint.
const EnvLoseDeviceAfter = "CATSYNTH_FAULT_DEVICE_LOST_AFTER"

// Open opens a device by backend name: a registered name ("cpu", "gpu"),
// "auto" (gpu if it is registered and opens on a hardware adapter, else cpu;
// FallbackReason says why), or "" (the value of $CATSYNTH_BACKEND, else auto).
// With $CATSYNTH_FAULT_DEVICE_LOST_AFTER set, the device is wrapped by
// faultinject.
func Open(name string) (*Device, error) {
	d, err := open(name)
	if err != nil {
		return nil, err
	}
	v := os.Getenv(EnvLoseDeviceAfter)
	if v == "" {
		return d, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		d.Close()
		return nil, fmt.Errorf("nn: %s=%q: want a number of downloads >= 0", EnvLoseDeviceAfter, v)
	}
	d.be = faultinject.New(d.be, n)
	return d, nil
}

func open(name string) (*Device, error) {
	if name == "" {
		name = os.Getenv(EnvBackend)
		if name == "" {
			name = "auto"
		}
	}
	registryMu.Lock()
	open, ok := registry[name]
	gpu, hasGPU := registry["gpu"]
	cpu, hasCPU := registry["cpu"]
	registryMu.Unlock()
	if name != "auto" {
		if !ok {
			return nil, fmt.Errorf("nn: unknown backend %q (registered: %v, or auto)", name, Backends())
		}
		be, err := open()
		if err != nil {
			return nil, fmt.Errorf("nn: open backend %q: %w", name, err)
		}
		return NewDevice(be), nil
	}
	var reason string
	if hasGPU {
		be, err := gpu()
		switch {
		case err != nil:
			reason = "gpu backend failed to open: " + err.Error()
		case isSoftware(be):
			// lavapipe, SwiftShader and the like run WGSL on the CPU at a
			// few GFLOP/s; the CPU backend is faster, natively (ten times and
			// more) and in the page too, even as wasm (0.2-0.45 s against
			// 2-6 s per image of the 64 px default).
			reason = "the only GPU adapter is a software one (" + be.Name() + "); the CPU backend is faster"
			release(be)
		default:
			return NewDevice(be), nil
		}
	} else {
		reason = "no gpu backend linked into this binary"
	}
	if !hasCPU {
		return nil, errors.New("nn: auto: " + reason + ", and no cpu backend is registered")
	}
	be, err := cpu()
	if err != nil {
		return nil, fmt.Errorf("nn: open backend cpu: %w", err)
	}
	d := NewDevice(be)
	d.fallback = reason
	return d, nil
}

// AllocError is the panic value of a failed device allocation.
type AllocError struct {
	N   int
	Err error
}

func (e *AllocError) Error() string {
	return fmt.Sprintf("nn: allocating %d floats: %v", e.N, e.Err)
}

func (e *AllocError) Unwrap() error { return e.Err }

// Catch runs f and returns an *AllocError it panicked with as an error
// (other panics propagate). Use it where user input decides tensor sizes.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if ae, ok := r.(*AllocError); ok {
				err = ae
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// alloc creates an uninitialized tensor, registered in the innermost scope.
func (d *Device) alloc(shape []int) *Tensor {
	t := d.allocUnscoped(shape)
	if n := len(d.scopes); n > 0 {
		d.scopes[n-1].add(t)
	}
	return t
}

// allocUnscoped creates a tensor that lives until Release regardless of scopes.
func (d *Device) allocUnscoped(shape []int) *Tensor {
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("nn: negative dimension in shape %v", shape))
		}
	}
	n := numel(shape)
	buf, err := d.be.Alloc(max(n, 1))
	if err != nil {
		panic(&AllocError{N: n, Err: err})
	}
	d.live++
	return &Tensor{dev: d, st: &storage{buf: buf, refs: 1, version: newStamp()}, shape: append([]int(nil), shape...)}
}

// view makes a new tensor sharing t's storage with another shape (same numel).
func (d *Device) view(t *Tensor, shape []int) *Tensor {
	t.buf() // panics if released
	v := &Tensor{dev: d, st: t.st, shape: append([]int(nil), shape...)}
	t.st.refs++
	if n := len(d.scopes); n > 0 {
		d.scopes[n-1].add(v)
	}
	return v
}

// Empty returns a tensor with undefined contents.
func (d *Device) Empty(shape ...int) *Tensor { return d.alloc(shape) }

// Full returns a tensor filled with v.
func (d *Device) Full(v float32, shape ...int) *Tensor {
	t := d.alloc(shape)
	d.be.Fill(t.buf(), t.Numel(), v)
	return t
}

// Zeros returns a tensor of zeros.
func (d *Device) Zeros(shape ...int) *Tensor { return d.Full(0, shape...) }

// Ones returns a tensor of ones.
func (d *Device) Ones(shape ...int) *Tensor { return d.Full(1, shape...) }

// Scalar returns a one-element tensor of shape [1] (broadcasts against anything).
func (d *Device) Scalar(v float32) *Tensor { return d.Full(v, 1) }

// FromData uploads host data into a new tensor; len(data) must match the shape.
func (d *Device) FromData(data []float32, shape ...int) *Tensor {
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("nn: FromData: %d values for shape %v", len(data), shape))
	}
	t := d.alloc(shape)
	d.be.Upload(t.buf(), data)
	return t
}

// Scope collects the tensors created while it is the innermost open scope, so
// that loops can return their buffers to the pool: open a scope per step and
// Close it keeping only the results. Scopes nest.
type Scope struct {
	dev     *Device
	tensors []*Tensor
	closed  bool
}

// Scope opens a new innermost scope.
func (d *Device) Scope() *Scope {
	s := &Scope{dev: d}
	d.scopes = append(d.scopes, s)
	return s
}

func (s *Scope) add(t *Tensor) { s.tensors = append(s.tensors, t) }

// Close releases every tensor created inside the scope except keep, which
// move to the enclosing scope (or become unscoped when there is none).
// Scopes must close innermost first. Kept tensors lose their autograd graph
// (its intermediate buffers are gone).
func (s *Scope) Close(keep ...*Tensor) {
	d := s.dev
	if s.closed {
		panic("nn: Scope closed twice")
	}
	if len(d.scopes) == 0 || d.scopes[len(d.scopes)-1] != s {
		panic("nn: Scope closed out of order")
	}
	s.closed = true
	d.scopes = d.scopes[:len(d.scopes)-1]
	kept := make(map[*Tensor]bool, len(keep))
	for _, k := range keep {
		if k != nil {
			kept[k] = true
		}
	}
	var parent *Scope
	if n := len(d.scopes); n > 0 {
		parent = d.scopes[n-1]
	}
	for _, t := range s.tensors {
		if kept[t] {
			t.node = nil
			if parent != nil {
				parent.add(t)
			}
			continue
		}
		t.Release()
	}
	s.tensors = nil
}

// GradEnabled reports whether ops record autograd nodes.
func (d *Device) GradEnabled() bool { return d.gradEnabled }

// SetGradEnabled turns autograd recording on or off and returns the previous
// setting. With recording off (inference), ops never build a graph even when
// their inputs require gradients.
func (d *Device) SetGradEnabled(on bool) (prev bool) {
	prev, d.gradEnabled = d.gradEnabled, on
	return prev
}

// NoGrad runs f with autograd recording off.
func (d *Device) NoGrad(f func()) {
	prev := d.SetGradEnabled(false)
	defer d.SetGradEnabled(prev)
	f()
}
