package nn

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/nn/safetensors"
)

type testConfig struct {
	Channels int    `json:"channels"`
	Name     string `json:"name"`
}

func buildModel(dev *Device, seed uint64, out int) *Params {
	ps := NewParams(dev, seed)
	NewSNConv2d(ps.Sub("body.0.conv"), 3, out, 3, 1, 1, true)
	NewBatchNorm2d(ps.Sub("body.0.norm"), out)
	NewLinear(ps.Sub("head"), out, 2, false)
	return ps
}

func TestCheckpointRoundTrip(t *testing.T) {
	dev := testDevice()
	dir := t.TempDir()
	for _, c := range []struct {
		file string
		f16  bool
		tol  float64
	}{{"m.safetensors", false, 0}, {"m.safetensors.zst", false, 0}, {"h.safetensors", true, 1e-3}} {
		src := buildModel(dev, 1, 4)
		path := filepath.Join(dir, c.file)
		cfg := testConfig{Channels: 4, Name: "tiny"}
		err := SaveParams(path, src.All(), SaveOptions{Config: cfg, ClassNames: []string{"sky", "grass"}, F16: c.f16,
			Metadata: map[string]string{"step": "12"}})
		if err != nil {
			t.Fatal(err)
		}
		ck, err := ReadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		var got testConfig
		if err := json.Unmarshal(ck.Config, &got); err != nil || got != cfg {
			t.Errorf("%s: config %+v (%v), want %+v", c.file, got, err, cfg)
		}
		if len(ck.ClassNames) != 2 || ck.ClassNames[1] != "grass" || ck.Metadata["step"] != "12" {
			t.Errorf("%s: class names %v, metadata %v", c.file, ck.ClassNames, ck.Metadata)
		}
		dst := buildModel(dev, 2, 4) // different init
		if err := ck.LoadInto(dst.All(), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		sp, dp := src.All(), dst.All()
		for i := range sp {
			assertClose(t, c.file+" "+sp[i].Name, mustData(t, dp[i].T), to64(mustData(t, sp[i].T)), c.tol, c.tol)
		}
	}
}

// TestCheckpointDigest: SaveParams writes a digest; a flipped bit that
// renames a class or changes a weight is refused naming the file; a file
// written without a digest (converted official weights, older catsynth
// files) still loads.
func TestCheckpointDigest(t *testing.T) {
	dev := testDevice()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	src := buildModel(dev, 1, 4)
	if err := SaveParams(path, src.All(), SaveOptions{ClassNames: []string{"sky", "grass"}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw[:200+len(raw)/100]), safetensors.DigestKey) {
		t.Fatalf("no %s in the header", safetensors.DigestKey)
	}
	at := strings.Index(string(raw), "grass") + 1 // "grass" -> "gpass"
	cases := []struct {
		name string
		flip int
	}{{"class name", at}, {"last weight byte", len(raw) - 1}, {"a middle weight byte", len(raw) - 40}}
	for _, c := range cases {
		bad := append([]byte(nil), raw...)
		bad[c.flip] ^= 0x02
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadCheckpoint(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "checksum mismatch: the file is corrupt") {
			t.Errorf("%s flipped: %v, want a checksum mismatch naming %s", c.name, err, p)
		}
	}
	// The same tensors and metadata without a digest load.
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.safetensors")
	delete(f.Metadata, safetensors.DigestKey)
	if err := safetensors.WriteFile(old, f.Tensors, f.Metadata, safetensors.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ck, err := ReadCheckpoint(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := ck.Metadata[safetensors.DigestKey]; has || ck.ClassNames[1] != "grass" {
		t.Errorf("file without a digest: metadata %v", ck.Metadata)
	}
	if err := ck.LoadInto(buildModel(dev, 2, 4).All(), LoadOptions{}); err != nil {
		t.Error(err)
	}
}

func TestCheckpointErrors(t *testing.T) {
	dev := testDevice()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := SaveParams(path, buildModel(dev, 1, 4).All(), SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.safetensors")
	if err := os.WriteFile(trunc, raw[:len(raw)-10], 0o644); err != nil {
		t.Fatal(err)
	}

	// wrong shapes: 5 channels instead of 4
	wrong := buildModel(dev, 1, 5)
	err = func() error { _, err := LoadParams(path, wrong.All(), LoadOptions{}); return err }()
	var le *LoadError
	if !errors.As(err, &le) || len(le.Mismatched) == 0 || !strings.Contains(err.Error(), "body.0.conv.weight_orig: file [4 3 3 3], model [5 3 3 3]") ||
		!strings.Contains(err.Error(), path) {
		t.Errorf("wrong shapes: %v", err)
	}

	// unknown names: the model lacks the head
	small := NewParams(dev, 1)
	NewSNConv2d(small.Sub("body.0.conv"), 3, 4, 3, 1, 1, true)
	NewBatchNorm2d(small.Sub("body.0.norm"), 4)
	before := mustData(t, small.All()[0].T)
	_, err = LoadParams(path, small.All(), LoadOptions{})
	if !errors.As(err, &le) || len(le.Unknown) != 1 || le.Unknown[0] != "head.weight" {
		t.Errorf("unknown names: %v", err)
	}
	assertClose(t, "unchanged after failed load", mustData(t, small.All()[0].T), to64(before), 0, 0)
	if _, err := LoadParams(path, small.All(), LoadOptions{AllowUnknown: true}); err != nil {
		t.Errorf("AllowUnknown: %v", err)
	}

	// missing names: the model has an extra layer
	big := buildModel(dev, 1, 4)
	NewLinear(big.Sub("extra"), 2, 2, true)
	_, err = LoadParams(path, big.All(), LoadOptions{})
	if !errors.As(err, &le) || len(le.Missing) != 2 || !strings.Contains(err.Error(), "extra.bias") {
		t.Errorf("missing names: %v", err)
	}
	if _, err := LoadParams(path, big.All(), LoadOptions{AllowMissing: true}); err != nil {
		t.Errorf("AllowMissing: %v", err)
	}

	// truncated file and absent file
	if _, err := LoadParams(trunc, buildModel(dev, 1, 4).All(), LoadOptions{}); err == nil || !strings.Contains(err.Error(), trunc) {
		t.Errorf("truncated file: %v", err)
	}
	if _, err := ReadCheckpoint(filepath.Join(dir, "absent.safetensors")); err == nil {
		t.Error("absent file loaded")
	}
}

// FuzzDecodeCheckpoint: any bytes, plain or zstd, give a checkpoint or an
// error naming the file, never a panic; an accepted checkpoint's config and
// class names decode, and each of its tensors can be looked up by name.
//
//	go test -run '^$' -fuzz FuzzDecodeCheckpoint ./nn
func FuzzDecodeCheckpoint(f *testing.F) {
	dir := f.TempDir()
	tensors := []safetensors.Tensor{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int{3}, Data: []float32{0, -1, 0.5}},
	}
	for _, zst := range []bool{false, true} {
		path := filepath.Join(dir, "m.safetensors")
		if zst {
			path += ".zst"
		}
		meta := map[string]string{MetaConfig: `{"family":"gan"}`, MetaClassNames: `["sky","sea"]`}
		if err := safetensors.WriteFile(path, tensors, meta, safetensors.WriteOptions{}); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCheckpoint(data, "m.safetensors")
		if err != nil {
			if !strings.Contains(err.Error(), "m.safetensors") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, ts := range c.File.Tensors {
			if _, ok := c.File.Get(ts.Name); !ok {
				t.Fatalf("tensor %q listed but not found", ts.Name)
			}
		}
	})
}
