package nn

import (
	"errors"
	"strings"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// countingBackend counts Alloc and Free calls of the wrapped backend.
type countingBackend struct {
	backend.Backend
	allocs, frees int
}

func (c *countingBackend) Alloc(n int) (backend.Buffer, error) {
	c.allocs++
	return c.Backend.Alloc(n)
}

func (c *countingBackend) Free(b backend.Buffer) {
	c.frees++
	c.Backend.Free(b)
}

func (c *countingBackend) live() int { return c.allocs - c.frees }

func TestScopeInferenceLoopDoesNotGrow(t *testing.T) {
	cb := &countingBackend{Backend: cpu.New()}
	dev := NewDevice(cb)
	ps := NewParams(dev, 1)
	conv := NewConv2d(ps.Sub("conv"), 3, 4, 3, 1, 1, true)
	bn := NewBatchNorm2d(ps.Sub("bn"), 4)
	ps.SetTraining(false)
	x := dev.Ones(1, 3, 8, 8)
	var after []int
	for i := 0; i < 5; i++ {
		s := dev.Scope()
		y := Softmax(Relu(bn.Forward(conv.Forward(x))), 1)
		out := Sum(y, nil, false)
		s.Close(out)
		if _, err := out.Item(); err != nil {
			t.Fatal(err)
		}
		out.Release()
		after = append(after, cb.live())
	}
	for _, n := range after[1:] {
		if n != after[0] {
			t.Fatalf("live buffers grow across scoped iterations: %v", after)
		}
	}
	// Training steps inside scopes must not grow either (leaf grads persist
	// once, then are replaced).
	ps.SetTraining(true)
	opt := NewAdam(ps.Trainable(), DefaultAdam(1e-3))
	after = after[:0]
	for i := 0; i < 4; i++ {
		s := dev.Scope()
		opt.ZeroGrad()
		MeanAll(conv.Forward(x)).Backward()
		opt.Step()
		s.Close()
		after = append(after, cb.live())
	}
	for _, n := range after[1:] {
		if n != after[0] {
			t.Fatalf("live buffers grow across training steps: %v", after)
		}
	}
	opt.ZeroGrad()
	opt.Release()
	x.Release()
	ps.Release()
	if cb.live() != 0 || dev.LiveBuffers() != 0 {
		t.Errorf("after releasing everything: backend %d, device %d live buffers", cb.live(), dev.LiveBuffers())
	}
}

func TestScopeKeepMovesToParent(t *testing.T) {
	dev := testDevice()
	outer := dev.Scope()
	inner := dev.Scope()
	a := dev.Ones(2)
	b := dev.Ones(2)
	inner.Close(a)
	if a.Released() || !b.Released() {
		t.Fatalf("inner close: a released %v, b released %v", a.Released(), b.Released())
	}
	outer.Close()
	if !a.Released() {
		t.Error("kept tensor was not handed to the outer scope")
	}
	if dev.LiveBuffers() != 0 {
		t.Errorf("%d live buffers", dev.LiveBuffers())
	}
}

func TestReleasedTensorPanics(t *testing.T) {
	dev := testDevice()
	x := dev.Ones(2)
	x.Release()
	defer func() {
		if recover() == nil {
			t.Error("use of a released tensor did not panic")
		}
	}()
	Relu(x)
}

func TestOpen(t *testing.T) {
	// "auto" must pick the GPU exactly when one opens here, and say why when not.
	g, gpuErr := Open("gpu")
	wantAuto := "cpu"
	if gpuErr == nil && !isSoftware(g.Backend()) {
		wantAuto = "gpu"
	}
	t.Logf("gpu here: %v (auto should give %s)", gpuErr, wantAuto)
	for _, c := range []struct{ name, env, want string }{
		{"cpu", "", "cpu"},
		{"auto", "", wantAuto},
		{"", "cpu", "cpu"},
		{"", "", wantAuto},
	} {
		t.Setenv(EnvBackend, c.env)
		d, err := Open(c.name)
		if err != nil {
			t.Fatalf("Open(%q): %v", c.name, err)
		}
		if !strings.HasPrefix(d.Name(), c.want) {
			t.Errorf("Open(%q) = %s, want %s", c.name, d.Name(), c.want)
		}
		fellBack := c.want == "cpu" && c.name != "cpu" && c.env != "cpu"
		if fellBack && d.FallbackReason() == "" {
			t.Errorf("Open(%q) fell back to cpu without a reason", c.name)
		}
		if !fellBack && d.FallbackReason() != "" {
			t.Errorf("Open(%q) gave a fallback reason %q without falling back", c.name, d.FallbackReason())
		}
	}
	if _, err := Open("tpu"); err == nil {
		t.Error("Open(tpu) succeeded")
	}
}

// withGPU registers open as the "gpu" backend for the rest of the test.
func withGPU(t *testing.T, open func() (backend.Backend, error)) {
	registryMu.Lock()
	old, had := registry["gpu"]
	registry["gpu"] = open
	registryMu.Unlock()
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "gpu")
		if had {
			registry["gpu"] = old
		}
		registryMu.Unlock()
	})
}

func TestOpenAutoFallsBackWhenGPUFails(t *testing.T) {
	withGPU(t, func() (backend.Backend, error) { return nil, errors.New("no adapter") })
	d, err := Open("auto")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "cpu" || d.FallbackReason() != "gpu backend failed to open: no adapter" {
		t.Errorf("auto: %s, reason %q", d.Name(), d.FallbackReason())
	}
	if _, err := Open("gpu"); err == nil {
		t.Error("Open(gpu) with a failing backend succeeded")
	}
}

// softwareGPU is a "gpu" backend on a software adapter.
type softwareGPU struct{ backend.Backend }

func (softwareGPU) Name() string   { return "gpu: llvmpipe (test)" }
func (softwareGPU) Software() bool { return true }

func TestOpenAutoSkipsSoftwareAdapters(t *testing.T) {
	withGPU(t, func() (backend.Backend, error) { return softwareGPU{cpu.New()}, nil })
	d, err := Open("auto")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "cpu" || !strings.Contains(d.FallbackReason(), "software one (gpu: llvmpipe (test))") {
		t.Errorf("auto on a software adapter: %s, reason %q", d.Name(), d.FallbackReason())
	}
	if d, err := Open("gpu"); err != nil || d.Name() != "gpu: llvmpipe (test)" {
		t.Errorf("gpu asked for by name: %v, %v", d, err)
	}
}

type failingAlloc struct{ backend.Backend }

func (failingAlloc) Alloc(n int) (backend.Buffer, error) {
	return nil, errors.New("exceeds maxStorageBufferBindingSize")
}

func TestCatchAllocError(t *testing.T) {
	dev := NewDevice(failingAlloc{cpu.New()})
	err := Catch(func() { dev.Zeros(1 << 20) })
	var ae *AllocError
	if !errors.As(err, &ae) || ae.N != 1<<20 {
		t.Fatalf("Catch = %v", err)
	}
}

// releaseCounter counts Release calls on its backend.
type releaseCounter struct {
	backend.Backend
	released int
}

func (r *releaseCounter) Release() { r.released++ }

func TestCloseReleasesOnce(t *testing.T) {
	be := &releaseCounter{Backend: cpu.New()}
	d := NewDevice(be)
	d.Close()
	d.Close()
	if be.released != 1 {
		t.Fatalf("two Closes released the backend %d times, want once", be.released)
	}
	NewDevice(cpu.New()).Close() // a backend without Release: nothing to do
}
