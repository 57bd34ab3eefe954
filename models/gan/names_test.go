package gan

import (
	"fmt"
	"sort"
	"testing"

	"catsynth/nn"
	"catsynth/nn/backend"
)

// metaBackend allocates no memory: it lets a test build the 74M-parameter
// official generator to read its names and shapes. Any kernel call panics
// (the embedded nil interface).
type metaBackend struct{ backend.Backend }

type metaBuf int

func (b metaBuf) Len() int { return int(b) }

func (metaBackend) Name() string                              { return "meta" }
func (metaBackend) Alloc(n int) (backend.Buffer, error)       { return metaBuf(n), nil }
func (metaBackend) Free(backend.Buffer)                       {}
func (metaBackend) Upload(backend.Buffer, []float32)          {}
func (metaBackend) Fill(dst backend.Buffer, n int, v float32) {}

// officialSPADE lists the names of OASIS norms.SPADE(opt, normNC, labelNC)
// with spade_ks 3 and nhidden 128, as in the PyTorch code.
func officialSPADE(m map[string][]int, p string, normNC, labelNC int) {
	m[p+".first_norm.running_mean"] = []int{normNC}
	m[p+".first_norm.running_var"] = []int{normNC}
	m[p+".first_norm.num_batches_tracked"] = []int{}
	m[p+".mlp_shared.0.weight"] = []int{128, labelNC, 3, 3}
	m[p+".mlp_shared.0.bias"] = []int{128}
	m[p+".mlp_gamma.weight"] = []int{normNC, 128, 3, 3}
	m[p+".mlp_gamma.bias"] = []int{normNC}
	m[p+".mlp_beta.weight"] = []int{normNC, 128, 3, 3}
	m[p+".mlp_beta.bias"] = []int{normNC}
}

// officialSN lists a spectrally normalized conv's names (torch's
// spectral_norm: weight_orig, weight_u (O), weight_v (I*k*k), bias).
func officialSN(m map[string][]int, p string, o, i, k int, bias bool) {
	m[p+".weight_orig"] = []int{o, i, k, k}
	m[p+".weight_u"] = []int{o}
	m[p+".weight_v"] = []int{i * k * k}
	if bias {
		m[p+".bias"] = []int{o}
	}
}

// officialGenerator writes down the state_dict of OASIS_Generator for
// ADE20K (semantic_nc 151, z_dim 64, channels_G 64, num_res_blocks 6),
// following models/generator.py line by line.
func officialGenerator() map[string][]int {
	const ch, semantic, z = 64, 151, 64
	channels := []int{16 * ch, 16 * ch, 16 * ch, 8 * ch, 4 * ch, 2 * ch, 1 * ch}
	m := map[string][]int{}
	m["conv_img.weight"] = []int{3, channels[6], 3, 3}
	m["conv_img.bias"] = []int{3}
	for i := 0; i < len(channels)-1; i++ {
		fin, fout := channels[i], channels[i+1]
		fmid := min(fin, fout)
		p := fmt.Sprintf("body.%d", i)
		officialSN(m, p+".conv_0", fmid, fin, 3, true)
		officialSN(m, p+".conv_1", fout, fmid, 3, true)
		if fin != fout {
			officialSN(m, p+".conv_s", fout, fin, 1, false)
		}
		officialSPADE(m, p+".norm_0", fin, semantic+z)
		officialSPADE(m, p+".norm_1", fmid, semantic+z)
		if fin != fout {
			officialSPADE(m, p+".norm_s", fin, semantic+z)
		}
	}
	m["fc.weight"] = []int{16 * ch, semantic + z, 3, 3}
	m["fc.bias"] = []int{16 * ch}
	return m
}

// officialDiscriminator follows models/discriminator.py for n classes.
func officialDiscriminator(n int) map[string][]int {
	channels := []int{3, 128, 128, 256, 256, 512, 512}
	m := map[string][]int{}
	block := func(p string, fin, fout int, up, first bool) {
		switch {
		case first:
			officialSN(m, p+".conv1.0", fout, fin, 3, true)
		case up:
			officialSN(m, p+".conv1.2", fout, fin, 3, true)
		default:
			officialSN(m, p+".conv1.1", fout, fin, 3, true)
		}
		officialSN(m, p+".conv2.1", fout, fout, 3, true)
		if fin != fout {
			officialSN(m, p+".conv_s", fout, fin, 1, true)
		}
	}
	for i := 0; i < 6; i++ {
		block(fmt.Sprintf("body_down.%d", i), channels[i], channels[i+1], false, i == 0)
	}
	block("body_up.0", channels[6], channels[5], true, false)
	for i := 1; i < 5; i++ {
		block(fmt.Sprintf("body_up.%d", i), 2*channels[6-i], channels[5-i], true, false)
	}
	block("body_up.5", 2*channels[1], 64, true, false)
	m["layer_up_last.weight"] = []int{n + 1, 64, 1, 1}
	m["layer_up_last.bias"] = []int{n + 1}
	return m
}

func compareNames(t *testing.T, what string, want map[string][]int, got []*nn.Param) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range got {
		seen[p.Name] = true
		ws, ok := want[p.Name]
		if !ok {
			t.Errorf("%s: unexpected parameter %s %v", what, p.Name, p.T.Shape())
			continue
		}
		if fmt.Sprint(ws) != fmt.Sprint(p.T.Shape()) {
			t.Errorf("%s: %s has shape %v, official %v", what, p.Name, p.T.Shape(), ws)
		}
	}
	var missing []string
	for n := range want {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	for _, n := range missing {
		t.Errorf("%s: missing official parameter %s %v", what, n, want[n])
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d tensors, official %d", what, len(got), len(want))
	}
}

func TestOfficialGeneratorNames(t *testing.T) {
	dev := nn.NewDevice(metaBackend{})
	g, err := NewGenerator(dev, OfficialADE20K(), 1)
	if err != nil {
		t.Fatal(err)
	}
	compareNames(t, "generator", officialGenerator(), g.Params().All())
	t.Logf("official ADE20K generator: %d tensors, %.1fM trainable parameters", len(g.Params().All()), float64(g.Params().Count())/1e6)
}

func TestOfficialDiscriminatorNames(t *testing.T) {
	dev := nn.NewDevice(metaBackend{})
	d, err := NewDiscriminator(dev, OfficialDiscriminator(151), 1)
	if err != nil {
		t.Fatal(err)
	}
	compareNames(t, "discriminator", officialDiscriminator(151), d.Params.All())
	t.Logf("official discriminator: %.1fM trainable parameters", float64(d.Params.Count())/1e6)
}
