package diffusion

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(3), seed)
	if err != nil {
		t.Fatal(err)
	}
	randomizeZeroInit(r, u)
	path := filepath.Join(t.TempDir(), "tiny.safetensors.zst")
	if err := Save(path, u, nil, false); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dev, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range u.Params.All() {
		q, _ := got.Params.Get(p.Name)
		a, _ := p.T.Data()
		b, _ := q.T.Data()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: saved %g, loaded %g", p.Name, i, a[i], b[i])
			}
		}
	}
	// A file of another architecture names what does not match.
	other := Tiny(3)
	other.ChannelMult = []int{1, 2, 2}
	if _, err := Load(dev, path, &other); err == nil || !strings.Contains(err.Error(), "missing from file") {
		t.Errorf("loading into another architecture: %v, want a load error listing missing tensors", err)
	}
}
