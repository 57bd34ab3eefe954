//go:build js

package gpu

import (
	"fmt"
	"reflect"
	"strings"
	"syscall/js"
	"unsafe"

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

// releaseDevice destroys the device: the binding's Release is a no-op on
// js, and the browser frees a device's memory only on destroy() or when the
// last reference to it is collected.
func releaseDevice(d *wgpu.Device) { jsHandle(d).Call("destroy") }

// writeScratch is a JS-side copy of the data being written, reused between
// writes (queue.writeBuffer copies its data before it returns).
var writeScratch js.Value

// writeBuffer copies data into buf at offset 0. It does not use the
// binding's Queue.WriteBuffer: that builds a view of the wasm memory and
// then boxes two integers, and when that allocation grows the Go heap the
// memory's ArrayBuffer is replaced and the view detached ("Cannot perform
// Construct on a detached ArrayBuffer", seen while loading a model). Here
// the bytes are copied into JS memory first, in one runtime call.
func writeBuffer(q *wgpu.Queue, buf *wgpu.Buffer, data []byte) error {
	if writeScratch.IsUndefined() || writeScratch.Length() < len(data) {
		writeScratch = js.Global().Get("Uint8Array").New(max(len(data), 1<<16))
	}
	view := writeScratch.Call("subarray", 0, len(data))
	js.CopyBytesToJS(view, data)
	jsHandle(q).Call("writeBuffer", jsHandle(buf), 0, view)
	return nil
}

// jsHandle returns the GPU object behind a binding handle (*wgpu.Queue,
// *wgpu.Buffer, *wgpu.Device), which the binding keeps in an unexported
// field jsValue and does not expose. The binding's version is pinned;
// TestBrowserApp and the browser parity tests exercise this on every run.
func jsHandle(handle any) js.Value {
	f := reflect.ValueOf(handle).Elem().FieldByName("jsValue")
	if !f.IsValid() || f.Type() != reflect.TypeFor[js.Value]() {
		panic(fmt.Sprintf("gpu: %T has no jsValue field (WebGPU binding changed)", handle))
	}
	return *(*js.Value)(unsafe.Pointer(f.UnsafeAddr()))
}

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
