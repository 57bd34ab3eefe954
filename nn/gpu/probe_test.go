//go:build !js

package gpu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv makes TestProbeHelper open a backend and print what it got.
const helperEnv = "CATSYNTH_GPU_PROBE_HELPER"

// TestProbeHelper is the subprocess of TestProbeNoEGLVendor: it calls New
// and prints "opened <name>" or "failed <error>". It does nothing in a
// normal run.
func TestProbeHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("subprocess of TestProbeNoEGLVendor")
	}
	b, err := New()
	if err != nil {
		fmt.Printf("failed %v\n", err)
		return
	}
	fmt.Printf("opened %s\n", b.Name())
	b.Release()
}

// TestProbeNoEGLVendor is the regression test for the abort in wgpu's GL
// backend when libglvnd finds no EGL vendor (an empty
// __EGL_VENDOR_LIBRARY_DIRS): New, run in a subprocess under that
// environment, must exit normally, still find the Vulkan adapter, and when
// GL is asked for by name, leave it out or fail with an error.
func TestProbeNoEGLVendor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	openGPU(t) // skips without an adapter (unless CATSYNTH_REQUIRE_GPU=1)
	noVendor := t.TempDir()
	cases := []struct {
		name     string
		backends string
		want     string // prefix of the helper's answer line
		contains string // in the answer line
		stderr   string // in the helper's stderr
	}{
		{"default", "", "opened", "(vulkan)", ""},
		{"vulkan only", "vulkan", "opened", "(vulkan)", ""},
		{"gl asked for, probe fails", "vulkan,gl", "opened", "(vulkan)", "GL backend left out"},
		{"only gl", "gl", "failed", "GL backend failed its probe", ""},
		{"unknown name", "vulkan,glide", "failed", `unknown backend "glide"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestProbeHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"=1", "__EGL_VENDOR_LIBRARY_DIRS="+noVendor, BackendsEnv+"="+c.backends)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				errors.As(err, &ee)
				t.Fatalf("helper did not exit normally (%v); stderr:\n%s", err, tail(stderr.String(), 2000))
			}
			line := answerLine(string(out))
			t.Logf("%s=%q: %s", BackendsEnv, c.backends, line)
			if !strings.HasPrefix(line, c.want) || !strings.Contains(line, c.contains) {
				t.Fatalf("answer %q, want %q ... %q", line, c.want, c.contains)
			}
			if !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", c.stderr, tail(stderr.String(), 2000))
			}
		})
	}
}

func answerLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "opened ") || strings.HasPrefix(l, "failed ") {
			return l
		}
	}
	return "(no answer) " + out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestParseBackends(t *testing.T) {
	cases := []struct {
		in   string
		want uint32
		err  bool
	}{
		{"", defaultBackends, false},
		{"  ", defaultBackends, false},
		{"vulkan", backendVulkan, false},
		{"Vulkan, GL", backendVulkan | backendGL, false},
		{"metal,dx12", backendMetal | backendDX12, false},
		{"gl", backendGL, false},
		{"opengl", 0, true},
		{"vulkan,", 0, true},
	}
	for _, c := range cases {
		got, err := parseBackends(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("parseBackends(%q) = %#x, %v; want %#x, error %v", c.in, got, err, c.want, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), BackendsEnv) {
			t.Errorf("parseBackends(%q) error %q does not name %s", c.in, err, BackendsEnv)
		}
	}
}
