//go:build js

package gpu

import (
	"strings"
	"syscall/js"

	"github.com/cogentcore/webgpu/wgpu"
)

func createInstance() (*wgpu.Instance, error) {
	inst := wgpu.CreateInstance(nil)
	if inst == nil {
		return nil, ErrNoAdapter
	}
	return inst, nil
}

// requestDevice takes the browser's default limits: the binding does not
// pass required limits to JS.
func requestDevice(a *wgpu.Adapter) (*wgpu.Device, error) {
	return a.RequestDevice(nil)
}

func endPass(p *wgpu.ComputePassEncoder) error { p.End(); return nil }

func submit(q *wgpu.Queue, cb *wgpu.CommandBuffer) { q.Submit(cb) }

// waitIdle waits for the queue through onSubmittedWorkDone (Poll is a no-op on js).
func waitIdle(d *wgpu.Device) { d.GetQueue().OnSubmittedWorkDone(func(wgpu.QueueWorkDoneStatus) {}) }

func pollNoWait(d *wgpu.Device) {}

// readMapped maps buf (MapRead; awaits the promise) and copies it into dst.
func readMapped(d *wgpu.Device, buf *wgpu.Buffer, dst []byte) error {
	size := uint64(len(dst))
	if err := buf.MapAsync(wgpu.MapModeRead, 0, size, func(wgpu.BufferMapAsyncStatus) {}); err != nil {
		return err
	}
	copy(dst, buf.GetMappedRange(0, uint(size)))
	return buf.Unmap()
}

// adapterDescription reads the browser's GPUAdapterInfo ("google swiftshader
// (fallback adapter)"): the binding's GetInfo is empty on js. A fallback
// adapter or SwiftShader counts as software. Like every async call here it
// blocks the calling goroutine, so it must not run inside a js.FuncOf callback.
func adapterDescription(wgpu.AdapterInfo) (string, bool) {
	g := js.Global().Get("navigator").Get("gpu")
	if g.IsUndefined() {
		return "webgpu (unknown)", false
	}
	a, ok := awaitPromise(g.Call("requestAdapter"))
	if !ok || a.IsNull() || a.IsUndefined() {
		return "webgpu (unknown)", false
	}
	info := a.Get("info")
	if info.IsUndefined() {
		return "webgpu (no adapter info)", false
	}
	var parts []string
	for _, k := range []string{"vendor", "architecture", "device", "description"} {
		if v := info.Get(k); v.Type() == js.TypeString && v.String() != "" {
			parts = append(parts, v.String())
		}
	}
	fallback := info.Get("isFallbackAdapter").Truthy()
	name := strings.Join(parts, " ")
	if name == "" {
		name = "webgpu"
	}
	if fallback {
		name += " (fallback adapter)"
	}
	software := fallback || isSoftwareName(name)
	return name + " (webgpu)", software
}

// awaitPromise blocks until p settles; ok is false when it rejects.
func awaitPromise(p js.Value) (v js.Value, ok bool) {
	done := make(chan struct{})
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v, ok = args[0], true
		close(done)
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		close(done)
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	<-done
	return v, ok
}
