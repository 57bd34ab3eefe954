//go:build !js

package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// BackendsEnv names the environment variable that lists the native WebGPU
// backends to try, comma-separated: vulkan, metal, dx12, gl. The default is
// vulkan,metal,dx12. GL is only used when named here, and only after a
// probe in a child process found it working: wgpu's GL backend aborts the
// whole process on some machines (no EGL vendor, no display).
const BackendsEnv = "CATSYNTH_GPU_BACKENDS"

// probeEnv marks a child process started by probeGLChild: its value is the
// backend list to open, and the process prints one line and exits.
const probeEnv = "CATSYNTH_GPU_PROBE_CHILD"

// probeTimeout bounds the GL probe child (a hung driver is a failed probe).
const probeTimeout = 60 * time.Second

// defaultBackends are the native backends that fail with an error rather
// than an abort when their driver is missing.
const defaultBackends = backendVulkan | backendMetal | backendDX12

var backendBits = []struct {
	name string
	bit  uint32
}{{"vulkan", backendVulkan}, {"metal", backendMetal}, {"dx12", backendDX12}, {"gl", backendGL}}

// parseBackends reads a BackendsEnv value ("" is the default set).
func parseBackends(s string) (uint32, error) {
	if strings.TrimSpace(s) == "" {
		return defaultBackends, nil
	}
	var mask uint32
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		found := false
		for _, b := range backendBits {
			if f == b.name {
				mask |= b.bit
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("gpu: %s=%q: unknown backend %q (want a comma-separated list of vulkan, metal, dx12, gl)", BackendsEnv, s, f)
		}
	}
	return mask, nil
}

// chooseBackends decides which backends the instance gets. When GL is asked
// for, a child process opens it first; if the child fails or aborts, GL is
// left out with one line on stderr (or, when GL was the only backend asked
// for, New fails with the reason).
func chooseBackends() (uint32, error) {
	if v, ok := os.LookupEnv(probeEnv); ok {
		return parseBackends(v) // inside the probe child: no second probe
	}
	mask, err := parseBackends(os.Getenv(BackendsEnv))
	if err != nil {
		return 0, err
	}
	if mask&backendGL == 0 {
		return mask, nil
	}
	if err := probeGLChild(); err != nil {
		if mask == backendGL {
			return 0, fmt.Errorf("%w: the GL backend failed its probe: %v", ErrNoAdapter, err)
		}
		fmt.Fprintf(os.Stderr, "gpu: GL backend left out: %v\n", err)
		mask &^= backendGL
	}
	return mask, nil
}

// probeGLChild runs this same executable with probeEnv=gl: its init opens a
// GL device, runs one upload and download and exits, so that an abort in the
// driver ends the child, not this process.
func probeGLChild() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this executable to probe GL in a child: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{exe} // no flags: a test binary would run its tests
	cmd.Env = append(os.Environ(), probeEnv+"=gl")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err == nil && strings.HasPrefix(out, "ok ") {
		return nil
	}
	if strings.HasPrefix(out, "error ") {
		return errors.New(strings.TrimPrefix(out, "error "))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("probe child gave no answer within %v", probeTimeout)
	}
	return fmt.Errorf("probe child died (%v): %s", err, lastLine(stderr.String()))
}

// lastLine keeps the most telling part of a child's stderr: a Rust panic's
// location and message (two lines, before its backtrace), else the last line.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, "panicked at") && i+1 < len(lines) {
			return strings.TrimSpace(l) + " " + strings.TrimSpace(lines[i+1])
		}
	}
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// runProbeChild is the child's side of probeGLChild: open the backends
// named in probeEnv, round-trip a few values, print "ok <name>" or
// "error <message>", and exit.
func runProbeChild() {
	name, err := probeRoundTrip()
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ok %s\n", name)
	os.Exit(0)
}

func probeRoundTrip() (string, error) {
	b, err := New()
	if err != nil {
		return "", err
	}
	defer b.Release()
	want := []float32{1, 2, 3, 4}
	buf, err := b.Alloc(len(want))
	if err != nil {
		return "", err
	}
	b.Upload(buf, want)
	got := make([]float32, len(want))
	if err := b.Download(buf, got); err != nil {
		return "", err
	}
	for i := range want {
		if got[i] != want[i] {
			return "", fmt.Errorf("%s read back %v, wrote %v", b.Name(), got, want)
		}
	}
	return b.Name(), nil
}

func init() {
	if _, ok := os.LookupEnv(probeEnv); ok {
		runProbeChild()
	}
}
