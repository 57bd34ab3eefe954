// Package torchpeer finds the PyTorch the parity tests compare with: the
// model packages' TestTorchParity build their official architecture in
// PyTorch (scripts/) and check that the Go model computes the same.
package torchpeer

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// PythonEnv names a Python with PyTorch and numpy (default: the first of
// python3 and /usr/bin/python3 that imports both).
const PythonEnv = "CATSYNTH_TORCH_PYTHON"

// Python returns a Python interpreter that imports torch and numpy, or
// skips the test saying how to get one.
func Python(t testing.TB) string {
	t.Helper()
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv(PythonEnv); p != "" {
		cands = []string{p}
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import torch, numpy").Run() == nil {
			return p
		}
	}
	t.Skipf("no Python with torch and numpy (tried %s; set %s; on Debian: apt-get install -y python3-torch)", strings.Join(cands, ", "), PythonEnv)
	return ""
}
