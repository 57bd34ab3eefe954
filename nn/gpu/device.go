// Package gpu is the WebGPU backend of nn (github.com/cogentcore/webgpu).
// It runs natively (Vulkan preferred; lavapipe in CI) and in the browser
// (GOOS=js). See kernel.go for how kernels are compiled and recorded.
package gpu

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
)

// AdapterEnv names the environment variable that picks an adapter: the first
// adapter whose "name (backend)" contains its value (case-insensitive).
const AdapterEnv = "CATSYNTH_GPU_ADAPTER"

// ErrNoAdapter is returned (wrapped) by New when no WebGPU adapter exists.
var ErrNoAdapter = errors.New("gpu: no WebGPU adapter found")

// Backend is the WebGPU implementation of backend.Backend. Like every
// backend it is used from one goroutine at a time.
type Backend struct {
	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	device   *wgpu.Device
	queue    *wgpu.Queue
	name     string
	software bool        // CPU adapter (lavapipe, SwiftShader): smaller submissions
	limits   wgpu.Limits // the device's limits
	lost     error       // set once the device is lost (wraps backend.ErrDeviceLost)

	pool    bufferPool
	modules map[string]*wgpu.ShaderModule
	kernels map[kernelKey]*kernel
	layouts map[[2]int]*bindLayout
	rec     recorder

	// reduceTarget overrides reduceThreads when > 0 (1 disables the
	// two-pass split; benchmarks compare the two).
	reduceTarget int
	// threadCap overrides maxThreads when > 0 (benchmarks).
	threadCap int
	// chunkOverride overrides binaryChunk when > 0 (benchmarks).
	chunkOverride int

	// compiles counts pipeline compilations (tests check the cache).
	compiles int
}

// New opens the preferred WebGPU adapter: the one named by CATSYNTH_GPU_ADAPTER
// when set, else a Vulkan adapter (discrete before integrated before CPU),
// else any other. It fails with an error wrapping ErrNoAdapter when there is none.
func New() (*Backend, error) {
	inst, err := createInstance()
	if err != nil {
		return nil, err
	}
	adapter, info, err := pickAdapter(inst, os.Getenv(AdapterEnv))
	if err != nil {
		inst.Release()
		return nil, err
	}
	dev, err := requestDevice(adapter)
	if err != nil {
		adapter.Release()
		inst.Release()
		return nil, fmt.Errorf("gpu: request device on %s: %w", describe(info), err)
	}
	desc, software := adapterDescription(info)
	b := &Backend{
		instance: inst,
		adapter:  adapter,
		device:   dev,
		queue:    dev.GetQueue(),
		name:     "gpu: " + desc,
		software: software,
		limits:   dev.GetLimits().Limits,
		modules:  map[string]*wgpu.ShaderModule{},
		kernels:  map[kernelKey]*kernel{},
		layouts:  map[[2]int]*bindLayout{},
	}
	b.pool.init()
	if err := b.rec.init(b); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Name says which adapter runs, e.g. "gpu: llvmpipe (LLVM 19.1.7, 256 bits) (vulkan)".
func (b *Backend) Name() string { return b.name }

// Software reports a CPU adapter (lavapipe, SwiftShader): apps pick smaller
// models there.
func (b *Backend) Software() bool { return b.software }

// Release frees every device resource. The Backend must not be used after,
// and releasing twice is an error (nn.Device.Close guards against it).
func (b *Backend) Release() {
	b.rec.release()
	b.pool.release()
	for _, k := range b.kernels {
		k.pipeline.Release()
	}
	for _, l := range b.layouts {
		l.pipeline.Release()
		l.group.Release()
	}
	for _, m := range b.modules {
		m.Release()
	}
	b.kernels, b.layouts, b.modules = nil, nil, nil
	if b.device != nil {
		releaseDevice(b.device)
	}
	if b.adapter != nil {
		b.adapter.Release()
	}
	if b.instance != nil {
		b.instance.Release()
	}
}

func describe(info wgpu.AdapterInfo) string {
	// wgpu-native fills Name with the device id ("0x0") on some drivers
	// and puts the device name into the driver description.
	name := info.Name
	if name == "" || strings.HasPrefix(name, "0x") {
		name = info.DriverDescription
	}
	if name == "" {
		name = "webgpu"
	}
	return fmt.Sprintf("%s (%s)", name, backendName(info.BackendType))
}

func backendName(t wgpu.BackendType) string {
	switch t {
	case wgpu.BackendTypeVulkan:
		return "vulkan"
	case wgpu.BackendTypeMetal:
		return "metal"
	case wgpu.BackendTypeD3D12:
		return "d3d12"
	case wgpu.BackendTypeD3D11:
		return "d3d11"
	case wgpu.BackendTypeOpenGL:
		return "opengl"
	case wgpu.BackendTypeOpenGLES:
		return "opengles"
	case wgpu.BackendTypeWebGPU:
		return "browser"
	}
	return "unknown"
}

func isSoftwareName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "llvmpipe") || strings.Contains(n, "swiftshader") || strings.Contains(n, "lavapipe")
}

// pickAdapter chooses among the instance's adapters; want filters by substring.
func pickAdapter(inst *wgpu.Instance, want string) (*wgpu.Adapter, wgpu.AdapterInfo, error) {
	adapters := inst.EnumerateAdapters(nil)
	if len(adapters) == 0 {
		return nil, wgpu.AdapterInfo{}, ErrNoAdapter
	}
	type cand struct {
		a     *wgpu.Adapter
		info  wgpu.AdapterInfo
		score int
	}
	var cands, seen []cand
	for _, a := range adapters {
		info := a.GetInfo()
		c := cand{a: a, info: info, score: adapterScore(info)}
		seen = append(seen, c)
		if want != "" && !strings.Contains(strings.ToLower(describe(info)), strings.ToLower(want)) {
			continue
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		names := make([]string, len(seen))
		for i, c := range seen {
			names[i] = describe(c.info)
			c.a.Release()
		}
		return nil, wgpu.AdapterInfo{}, fmt.Errorf("%w matching %s=%q (have: %s)",
			ErrNoAdapter, AdapterEnv, want, strings.Join(names, "; "))
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	for _, c := range seen {
		if c.a != cands[0].a {
			c.a.Release()
		}
	}
	return cands[0].a, cands[0].info, nil
}

// adapterScore ranks adapters: Vulkan first, then by device type.
func adapterScore(info wgpu.AdapterInfo) int {
	s := 0
	switch info.BackendType {
	case wgpu.BackendTypeVulkan:
		s += 100
	case wgpu.BackendTypeMetal, wgpu.BackendTypeD3D12, wgpu.BackendTypeWebGPU:
		s += 50
	}
	switch info.AdapterType {
	case wgpu.AdapterTypeDiscreteGPU:
		s += 3
	case wgpu.AdapterTypeIntegratedGPU:
		s += 2
	case wgpu.AdapterTypeCPU:
		s++
	}
	return s
}
