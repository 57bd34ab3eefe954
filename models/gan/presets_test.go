package gan

import (
	"testing"

	"catsynth/nn"
)

// TestPresets builds every preset (without memory) and checks the embedded
// ones fit the 25 MB budget as float16 files.
func TestPresets(t *testing.T) {
	classes := make([]string, 23)
	for i := range classes {
		classes[i] = string(rune('a' + i))
	}
	dev := nn.NewDevice(metaBackend{})
	for _, name := range PresetNames() {
		if name == "oasis" {
			continue // 70M parameters of host-side init; TestOfficialGeneratorNames covers it
		}
		for _, norm := range []string{NormSPADE, NormCLADE} {
			gc, dc, err := Presets[name].Configs(classes, 0, 0, norm)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			g, err := NewGenerator(dev, gc, 1)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDiscriminator(dev, dc, 1)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, p := range g.Params().All() {
				n += p.T.Numel()
			}
			t.Logf("%-9s %s: G %.2fM parameters (f16 file %.1f MB), D %.2fM", name, norm, float64(g.Params().Count())/1e6, float64(2*n)/1e6, float64(d.Params.Count())/1e6)
			if (name == "source64" || name == "source128") && 2*n > 25e6 {
				t.Errorf("%s: f16 model of %d bytes is over 25 MB", name, 2*n)
			}
		}
	}
	if _, err := LookupPreset("huge"); err == nil {
		t.Error("unknown preset: no error")
	}
}
