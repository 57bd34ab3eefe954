//go:build !js

package gpu

import (
	"fmt"
	"os"
	"path/filepath"

	"catsynth/nn/backend"

	"github.com/cogentcore/webgpu/wgpu"
)

func createInstance() (inst *wgpu.Instance, err error) {
	defer func() {
		if r := recover(); r != nil {
			inst, err = nil, fmt.Errorf("%w: %v", ErrNoAdapter, r)
		}
	}()
	// wgpu-native's own log goes to stderr; keep only errors unless asked
	// (CATSYNTH_GPU_LOG=warn|info|debug|trace).
	wgpu.SetLogLevel(logLevel(os.Getenv("CATSYNTH_GPU_LOG")))
	quietWindowSystem()
	backends, err := chooseBackends()
	if err != nil {
		return nil, err
	}
	return newInstance(backends)
}

func logLevel(name string) wgpu.LogLevel {
	switch name {
	case "warn":
		return wgpu.LogLevelWarn
	case "info":
		return wgpu.LogLevelInfo
	case "debug":
		return wgpu.LogLevelDebug
	case "trace":
		return wgpu.LogLevelTrace
	}
	return wgpu.LogLevelError
}

// requestDevice asks for the adapter's own limits (the defaults are far lower:
// 128 MiB storage bindings). The binding returns garbage in
// MaxPushConstantSize, which makes RequestDevice fail, so it is zeroed.
func requestDevice(a *wgpu.Adapter) (*wgpu.Device, error) {
	lim := a.GetLimits().Limits
	lim.MaxPushConstantSize = 0
	dev, err := a.RequestDevice(&wgpu.DeviceDescriptor{
		Label:          "catsynth",
		RequiredLimits: &wgpu.RequiredLimits{Limits: lim},
	})
	if err == nil {
		return dev, nil
	}
	// Fall back to the default limits rather than fail.
	return a.RequestDevice(nil)
}

func endPass(p *wgpu.ComputePassEncoder) error { return p.End() }

func submit(q *wgpu.Queue, cb *wgpu.CommandBuffer) { q.Submit(cb) }

// releaseDevice drops the device; wgpu-native frees it with its last reference.
func releaseDevice(d *wgpu.Device) { d.Release() }

// writeBuffer copies data into buf at offset 0 (device_js.go says why the
// browser build needs its own).
func writeBuffer(q *wgpu.Queue, buf *wgpu.Buffer, data []byte) error {
	return q.WriteBuffer(buf, 0, data)
}

// waitIdle blocks until the queue has finished all submitted work.
func waitIdle(d *wgpu.Device) { d.Poll(true, nil) }

// pollNoWait lets the driver reclaim finished work without blocking.
func pollNoWait(d *wgpu.Device) { d.Poll(false, nil) }

// readMapped maps buf (MapRead) and copies size bytes into dst.
func readMapped(d *wgpu.Device, buf *wgpu.Buffer, dst []byte) error {
	size := uint64(len(dst))
	var status wgpu.BufferMapAsyncStatus
	done := false
	if err := buf.MapAsync(wgpu.MapModeRead, 0, size, func(s wgpu.BufferMapAsyncStatus) {
		status, done = s, true
	}); err != nil {
		return err
	}
	for !done {
		d.Poll(true, nil)
	}
	switch status {
	case wgpu.BufferMapAsyncStatusSuccess:
	case wgpu.BufferMapAsyncStatusDeviceLost:
		return fmt.Errorf("%w: map staging buffer: %v", backend.ErrDeviceLost, status)
	default:
		return fmt.Errorf("gpu: map staging buffer: %v", status)
	}
	copy(dst, buf.GetMappedRange(0, uint(size)))
	return buf.Unmap()
}

// adapterDescription names the adapter for Name() and says whether it is a
// software (CPU) implementation, which gets smaller submissions and kernels.
func adapterDescription(info wgpu.AdapterInfo) (string, bool) {
	d := describe(info)
	return d, info.AdapterType == wgpu.AdapterTypeCPU || isSoftwareName(d)
}

// quietWindowSystem gives the window-system libraries that the instance
// probes (Wayland through EGL/GLES) a private, empty XDG_RUNTIME_DIR when
// the environment has none (a headless machine, a CI job): otherwise each
// probe prints "error: XDG_RUNTIME_DIR is invalid or not set" on stderr,
// five times a command, for a display that is not there and not needed.
func quietWindowSystem() {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("catsynth-xdg-%d", os.Getuid())) // one per user, reused
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
}
