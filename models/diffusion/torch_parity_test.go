package diffusion

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/internal/torchpeer"
	"catsynth/models"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// TestTorchParity builds SDM's U-Net in PyTorch (scripts/torch_sdm_unet.py:
// the official module layout and names) with random weights, loads its
// state_dict here by name (strictly: every name and shape must match) and
// compares the outputs on the same x_t, timesteps and one-hot label map.
// Skipped where no Python has torch; docs/DIFFUSION.md records a run.
func TestTorchParity(t *testing.T) {
	py := torchpeer.Python(t)
	script, err := filepath.Abs("../../scripts/torch_sdm_unet.py")
	if err != nil {
		t.Fatal(err)
	}
	official := Config{ImageSize: 16, InChannels: 3, NumChannels: 32, ChannelMult: []int{1, 2}, NumResBlocks: 1,
		AttentionResolutions: []int{8}, NumHeadChannels: 16, LearnSigma: true, NumClasses: 5,
		ResblockUpdown: true, UseScaleShiftNorm: true, NormGroups: 32, SPADEHidden: 16,
		DiffusionSteps: 1000, NoiseSchedule: ScheduleLinear}
	plain := official
	plain.ResblockUpdown, plain.UseScaleShiftNorm, plain.LearnSigma = false, false, false
	plain.ChannelMult, plain.AttentionResolutions = []int{1, 1, 2}, []int{16, 4}
	cases := map[string]Config{"updown-scaleshift-sigma": official, "conv-resample-add-emb": plain, "tiny-fewer-groups": Tiny(4)}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			js, _ := json.Marshal(cfg)
			cmd := exec.Command(py, script, "--parity", dir, "--config", string(js))
			cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=passive")
			res, err := cmd.CombinedOutput()
			t.Logf("%s", res)
			if err != nil {
				t.Fatalf("%s --parity: %v", filepath.Base(script), err)
			}
			ck, err := nn.ReadCheckpoint(filepath.Join(dir, "weights.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseConfig(ck.Config, "weights.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			dev := cpuDevice()
			u, err := NewUNet(dev, got, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Release()
			if err := ck.LoadInto(u.Params.All(), nn.LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			io, err := safetensors.ReadFile(filepath.Join(dir, "io.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			get := func(n string) *safetensors.Tensor {
				v, ok := io.Get(n)
				if !ok {
					t.Fatalf("io.safetensors lacks %q", n)
				}
				return v
			}
			x, ts, y, want := get("x"), get("t"), get("y"), get("out")
			tf := make([]float64, len(ts.Data))
			for i, v := range ts.Data {
				tf[i] = float64(v)
			}
			var out []float32
			dev.NoGrad(func() {
				out, err = u.Forward(dev.FromData(x.Data, x.Shape...), tf, dev.FromData(y.Data, y.Shape...)).Data()
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(want.Data) {
				t.Fatalf("output has %d values, PyTorch's %d", len(out), len(want.Data))
			}
			worst, scale := 0.0, 0.0
			for i := range out {
				worst = math.Max(worst, math.Abs(float64(out[i]-want.Data[i])))
				scale = math.Max(scale, math.Abs(float64(want.Data[i])))
			}
			t.Logf("max abs diff %.3g (output max %.3g)", worst, scale)
			if scale < 1e-2 || worst > 1e-4*math.Max(1, scale) {
				t.Errorf("PyTorch and catsynth outputs differ by %g (output scale %g, tolerance 1e-4)", worst, scale)
			}

			// The documented conversion of a th.save'd state_dict (no
			// config in the file) loads into the same weights.
			conv := filepath.Join(dir, "converted.safetensors")
			res, err = exec.Command(py, script, "--convert", filepath.Join(dir, "model.pt"), conv).CombinedOutput()
			t.Logf("%s", res)
			if err != nil {
				t.Fatalf("%s --convert: %v", filepath.Base(script), err)
			}
			if _, err := Load(dev, conv, nil); err == nil || !strings.Contains(err.Error(), "no config") {
				t.Errorf("loading a converted file without a config: %v, want an error saying so", err)
			}
			cu, err := Load(dev, conv, &got)
			if err != nil {
				t.Fatal(err)
			}
			defer cu.Release()
			for _, p := range u.Params.All() {
				q, _ := cu.Params.Get(p.Name)
				a, _ := p.T.Data()
				c, _ := q.T.Data()
				for i := range a {
					if a[i] != c[i] {
						t.Fatalf("converted %s[%d] = %g, safetensors export %g", p.Name, i, c[i], a[i])
					}
				}
			}

			// With --config the converted file is a model file every
			// command reads (its kind says diffusion).
			cj, _ := MarshalConfig(got)
			conv2 := filepath.Join(dir, "converted2.safetensors")
			if res, err := exec.Command(py, script, "--convert", filepath.Join(dir, "model.pt"), conv2, "--config", string(cj)).CombinedOutput(); err != nil {
				t.Fatalf("--convert --config: %v\n%s", err, res)
			}
			m, err := models.Load(dev, conv2)
			if err != nil {
				t.Fatal(err)
			}
			if m.Net.Kind() != KindModel {
				t.Errorf("converted file loads as %s", m.Net.Kind())
			}
			m.Release()
			// A truncated .pt and a file that is no checkpoint: a message
			// naming the file, nothing written.
			pt, _ := os.ReadFile(filepath.Join(dir, "model.pt"))
			for name, data := range map[string][]byte{"truncated.pt": pt[:len(pt)/2], "notes.pt": []byte("not a checkpoint\n")} {
				bad := filepath.Join(dir, name)
				os.WriteFile(bad, data, 0o644)
				out := filepath.Join(dir, name+".safetensors")
				res, err := exec.Command(py, script, "--convert", bad, out).CombinedOutput()
				if err == nil || !strings.Contains(string(res), bad) {
					t.Errorf("converting %s: %v, output %q; want a failure naming the file", name, err, res)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("converting %s left %s", name, out)
				}
			}
		})
	}
}
