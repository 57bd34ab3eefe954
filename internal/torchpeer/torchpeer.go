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
	return PythonWith(t)
}

// PythonWith is Python for a script that also imports the modules extra
// (the trainer reads images with PIL): a Python with torch but without one
// of them skips the test, naming what is missing, instead of failing it.
func PythonWith(t testing.TB, extra ...string) string {
	t.Helper()
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv(PythonEnv); p != "" {
		cands = []string{p}
	}
	mods := append([]string{"torch", "numpy"}, extra...)
	for _, p := range cands {
		if exec.Command(p, "-c", "import "+strings.Join(mods, ", ")).Run() == nil {
			return p
		}
	}
	t.Skipf("no Python that imports %s (tried %s; set %s; on Debian: apt-get install -y python3-torch python3-pil)", strings.Join(mods, ", "), strings.Join(cands, ", "), PythonEnv)
	return ""
}
