//go:build !js

package gpu

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Natively the results persist, so software adapters (lavapipe) tune too.
const tuneSoftware = true

// defaultTunePath is os.UserCacheDir()/catsynth/gpu-autotune.json, or ""
// when there is no cache directory.
func defaultTunePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "catsynth", "gpu-autotune.json")
}

// loadTuneFile merges the JSON file at path (adapter -> bucket -> variant)
// into m. A missing or unreadable file is ignored: tuning just runs again.
func loadTuneFile(path string, m map[string]map[string]string) {
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var f map[string]map[string]string
	if json.Unmarshal(data, &f) != nil {
		return
	}
	for a, byKey := range f {
		if m[a] == nil {
			m[a] = map[string]string{}
		}
		for k, v := range byKey {
			if _, ok := m[a][k]; !ok {
				m[a][k] = v
			}
		}
	}
}

// saveTuneFile writes m to path through a temporary file and a rename.
// Failures are ignored: the cache is an optimization.
func saveTuneFile(path string, m map[string]map[string]string) {
	if path == "" {
		return
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gpu-autotune-*.json")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		os.Remove(tmp.Name())
	}
}
