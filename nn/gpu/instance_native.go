//go:build !js

package gpu

/*
#include <stdint.h>
#include <stddef.h>

// The layout of wgpu-native's WGPUInstanceDescriptor and WGPUInstanceExtras
// (wgpu.h of github.com/cogentcore/webgpu v0.23.0), declared here because
// the header is not on this package's include path.
typedef struct catsynthChained {
	const struct catsynthChained *next;
	uint32_t sType;
} catsynthChained;

typedef struct {
	catsynthChained chain;
	uint32_t backends;
	uint32_t flags;
	uint32_t dx12ShaderCompiler;
	uint32_t gles3MinorVersion;
	const char *dxilPath;
	const char *dxcPath;
} catsynthInstanceExtras;

typedef struct {
	const catsynthChained *nextInChain;
} catsynthInstanceDescriptor;

// Weak, so that cgo's own link check of this package succeeds without the
// library; the binding's package links libwgpu_native and its strong
// reference pulls the definition into every binary.
extern void *wgpuCreateInstance(const catsynthInstanceDescriptor *desc) __attribute__((weak));

static void *catsynthCreateInstance(uint32_t backends) {
	if (wgpuCreateInstance == NULL) {
		return NULL;
	}
	catsynthInstanceExtras extras = {0};
	extras.chain.next = NULL;
	extras.chain.sType = 0x00030006; // WGPUSType_InstanceExtras
	extras.backends = backends;
	catsynthInstanceDescriptor desc = {0};
	desc.nextInChain = &extras.chain;
	return wgpuCreateInstance(&desc);
}
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// Backend bits of WGPUInstanceBackend (wgpu.h).
const (
	backendVulkan uint32 = 1 << 0
	backendGL     uint32 = 1 << 1
	backendMetal  uint32 = 1 << 2
	backendDX12   uint32 = 1 << 3
)

// newInstance creates a wgpu-native instance limited to the given backends,
// with every other field of the instance extras zeroed. The binding's
// CreateInstance either enables every backend (nil descriptor: the GL
// backend's EGL set-up then aborts the process where libglvnd finds no EGL
// vendor) or passes uninitialised flags and GLES fields (a descriptor).
func newInstance(backends uint32) (*wgpu.Instance, error) {
	if err := checkInstanceLayout(); err != nil {
		return nil, err
	}
	ref := C.catsynthCreateInstance(C.uint32_t(backends))
	if ref == nil {
		return nil, fmt.Errorf("%w: wgpuCreateInstance returned no instance", ErrNoAdapter)
	}
	inst := new(wgpu.Instance)
	*(*unsafe.Pointer)(unsafe.Pointer(inst)) = ref
	return inst, nil
}

// checkInstanceLayout makes sure wgpu.Instance is still one pointer field
// (ref), which newInstance fills in; the binding's version is pinned, and
// this turns a changed binding into an error instead of memory corruption.
func checkInstanceLayout() error {
	t := reflect.TypeFor[wgpu.Instance]()
	if t.NumField() != 1 || t.Field(0).Name != "ref" || t.Field(0).Type.Kind() != reflect.Pointer ||
		t.Size() != unsafe.Sizeof(unsafe.Pointer(nil)) {
		return fmt.Errorf("%w: wgpu.Instance is no longer a single ref field (WebGPU binding changed)", ErrNoAdapter)
	}
	return nil
}
