//go:build js

package gpu

import (
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
