package keras

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The npm package catsynth imports its pretrained backbones from. The
// version is pinned: the converted weights and the parity tests refer to it.
const (
	NSFWJSPackage = "nsfwjs"
	NSFWJSVersion = "4.4.0"
)

// NSFWJSModels are the Keras layers models inside nsfwjs (directory names
// under dist/models) that catsynth imports.
var NSFWJSModels = []string{"mobilenet_v2", "inception_v3"}

// ReadModelDir reads a tfjs layers model from dir: model.json with binary
// shards (the tfjs converter's layout), or nsfwjs's bundled model.min.js
// with base64 shards "<path>.min.js". It returns the model and its decoded
// weights (Keras layouts, float32).
func ReadModelDir(dir string) (*ModelJSON, map[string]Weight, error) {
	bundled := false
	path := filepath.Join(dir, "model.json")
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(dir, "model.min.js")
		src, err = os.ReadFile(path)
		bundled = true
	}
	if err != nil {
		return nil, nil, fmt.Errorf("keras: %s holds no model.json or model.min.js: %w", dir, err)
	}
	m, err := decodeModelFile(src, path)
	if err != nil {
		return nil, nil, err
	}
	weights := map[string]Weight{}
	for gi, g := range m.WeightsManifest {
		var data []byte
		for _, p := range g.Paths {
			if strings.Contains(p, "..") || filepath.IsAbs(p) {
				return nil, nil, fmt.Errorf("keras: %s: shard path %q leaves the model directory", path, p)
			}
			sp := filepath.Join(dir, filepath.FromSlash(p))
			if bundled {
				sp += ".min.js"
			}
			raw, err := os.ReadFile(sp)
			if err != nil {
				return nil, nil, fmt.Errorf("keras: weight shard: %w", err)
			}
			b, err := decodeShardFile(raw, sp, bundled)
			if err != nil {
				return nil, nil, err
			}
			data = append(data, b...)
		}
		ws, err := DecodeWeights(g, data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s group %d: %w", path, gi, err)
		}
		for k, v := range ws {
			if _, dup := weights[k]; dup {
				return nil, nil, fmt.Errorf("keras: %s: weight %q in two groups", path, k)
			}
			weights[k] = v
		}
	}
	return m, weights, nil
}

// NSFWJSModelDir is the directory of model name inside an unpacked nsfwjs
// package (the folder holding package.json).
func NSFWJSModelDir(pkgDir, model string) string {
	return filepath.Join(pkgDir, "dist", "models", model)
}

// FetchNPM downloads the npm package spec ("nsfwjs@4.4.0") with `npm pack`
// (through npm's cache) and unpacks it under dest, returning the package
// root (dest/package). It needs the npm command; offline it works when npm's
// cache already holds the tarball.
func FetchNPM(ctx context.Context, spec, dest string) (string, error) {
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("keras: npm is not installed (install Node.js, or unpack %s yourself and pass its folder): %w", spec, err)
	}
	tmp, err := os.MkdirTemp("", "catsynth-npm-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", spec, "--pack-destination", tmp, "--prefer-offline", "--silent")
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("keras: npm pack %s: %v: %s", spec, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		return "", fmt.Errorf("keras: npm pack %s printed no file name", spec)
	}
	tgz := filepath.Join(tmp, filepath.Base(lines[len(lines)-1]))
	if err := untgz(tgz, dest); err != nil {
		return "", err
	}
	return filepath.Join(dest, "package"), nil
}

// untgz extracts the regular files of a .tgz under dest, refusing paths that
// would leave it.
func untgz(path, dest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("keras: %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("keras: %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("keras: %s: entry %q leaves the destination", path, h.Name)
		}
		out := filepath.Join(dest, name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		w, err := os.Create(out)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, tr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("keras: extracting %s: %w", out, err)
		}
	}
}
