package diffusion

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestConfigJSONRoundTrip(t *testing.T) {
	for name, mk := range Presets {
		cfg := mk(7)
		data, err := MarshalConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseConfig(data, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("%s: round trip gave %+v, want %+v", name, got, cfg)
		}
	}
	var m map[string]any
	data, _ := MarshalConfig(OfficialADE20K())
	_ = json.Unmarshal(data, &m)
	for _, k := range []string{"num_channels", "channel_mult", "attention_resolutions", "num_head_channels", "learn_sigma", "resblock_updown", "use_scale_shift_norm"} {
		if _, ok := m[k]; !ok {
			t.Errorf("config JSON lacks the official flag name %q: %s", k, data)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"size", func(c *Config) { c.ImageSize = 10 }, "image_size 10"},
		{"heads", func(c *Config) { c.NumHeadChannels = 5 }, "num_head_channels 5"},
		{"attention", func(c *Config) { c.AttentionResolutions = []int{5} }, "attention resolution 5"},
		{"schedule", func(c *Config) { c.NoiseSchedule = "quadratic" }, `noise_schedule "quadratic"`},
		{"classes", func(c *Config) { c.NumClasses = 0 }, "num_classes 0"},
		{"names", func(c *Config) { c.ClassNames = []string{"a"} }, "1 class names for 4 classes"},
	}
	for _, tc := range cases {
		cfg := Tiny(4)
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	if err := Tiny(4).Validate(); err != nil {
		t.Errorf("tiny: %v", err)
	}
}

// A fresh U-Net outputs exactly zero (zero-initialised out conv); with
// random output convs it gives finite values that depend on the labels.
func TestUNetForward(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	cfg := Tiny(4)
	cfg.LearnSigma = false
	u, err := NewUNet(dev, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	const b, h, w = 2, 16, 16
	x := dev.FromData(randn(r, b*3*h*w, 1), b, 3, h, w)
	y1 := dev.FromData(oneHotMap(r, b, 4, h, w), b, 4, h, w)
	y2 := dev.FromData(oneHotMap(r, b, 4, h, w), b, 4, h, w)
	ts := []float64{3, 700}
	out, _ := u.Forward(x, ts, y1).Data()
	if len(out) != b*3*h*w {
		t.Fatalf("output has %d values, want %d", len(out), b*3*h*w)
	}
	for i, v := range out {
		if v != 0 {
			t.Fatalf("fresh model output[%d] = %g, want 0 (zero-initialised out conv)", i, v)
		}
	}
	randomizeZeroInit(r, u)
	a, _ := u.Forward(x, ts, y1).Data()
	c, _ := u.Forward(x, ts, y2).Data()
	diff := 0.0
	for i := range a {
		if math.IsNaN(float64(a[i])) || math.IsInf(float64(a[i]), 0) {
			t.Fatalf("output[%d] = %g", i, a[i])
		}
		diff = math.Max(diff, math.Abs(float64(a[i]-c[i])))
	}
	if diff < 1e-4 {
		t.Errorf("output does not depend on the label map (max diff %g)", diff)
	}
}
