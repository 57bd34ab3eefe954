package diffusion

import (
	"fmt"
	"sort"
	"testing"

	"catsynth/nn"
)

// officialNames writes down the state_dict of SDM's UNetModel for cfg,
// following guided_diffusion/unet.py line by line (ResBlock, SDMResBlock,
// SPADEGroupNorm with nhidden, AttentionBlock with 1-d convs).
func officialNames(cfg Config) map[string][]int {
	m := map[string][]int{}
	conv := func(p string, o, i, k int) {
		m[p+".weight"] = []int{o, i, k, k}
		m[p+".bias"] = []int{o}
	}
	lin := func(p string, o, i int) {
		m[p+".weight"] = []int{o, i}
		m[p+".bias"] = []int{o}
	}
	gn := func(p string, c int) {
		m[p+".weight"] = []int{c}
		m[p+".bias"] = []int{c}
	}
	mc := cfg.NumChannels
	ted := 4 * mc
	emb := func(o int) int {
		if cfg.UseScaleShiftNorm {
			return 2 * o
		}
		return o
	}
	resBlock := func(p string, c, o int) {
		gn(p+".in_layers.0", c)
		conv(p+".in_layers.2", o, c, 3)
		lin(p+".emb_layers.1", emb(o), ted)
		gn(p+".out_layers.0", o)
		conv(p+".out_layers.3", o, o, 3)
		if c != o {
			conv(p+".skip_connection", o, c, 1)
		}
	}
	spade := func(p string, c int) {
		conv(p+".mlp_shared.0", cfg.SPADEHidden, cfg.NumClasses, 3)
		conv(p+".mlp_gamma", c, cfg.SPADEHidden, 3)
		conv(p+".mlp_beta", c, cfg.SPADEHidden, 3)
	}
	sdmBlock := func(p string, c, o int) {
		spade(p+".in_norm", c)
		conv(p+".in_layers.1", o, c, 3)
		lin(p+".emb_layers.1", emb(o), ted)
		spade(p+".out_norm", o)
		conv(p+".out_layers.2", o, o, 3)
		if c != o {
			conv(p+".skip_connection", o, c, 1)
		}
	}
	attn := func(p string, c int) {
		gn(p+".norm", c)
		m[p+".qkv.weight"] = []int{3 * c, c, 1}
		m[p+".qkv.bias"] = []int{3 * c}
		m[p+".proj_out.weight"] = []int{c, c, 1}
		m[p+".proj_out.bias"] = []int{c}
	}
	attnDS := map[int]bool{}
	for _, r := range cfg.AttentionResolutions {
		attnDS[cfg.ImageSize/r] = true
	}
	lin("time_embed.0", ted, mc)
	lin("time_embed.2", ted, ted)
	ch := cfg.ChannelMult[0] * mc
	inputCh := ch
	conv("input_blocks.0.0", ch, cfg.InChannels, 3)
	chans := []int{ch}
	ds, n := 1, 1
	for level, mult := range cfg.ChannelMult {
		for range cfg.NumResBlocks {
			resBlock(fmt.Sprintf("input_blocks.%d.0", n), ch, mult*mc)
			ch = mult * mc
			if attnDS[ds] {
				attn(fmt.Sprintf("input_blocks.%d.1", n), ch)
			}
			chans = append(chans, ch)
			n++
		}
		if level != len(cfg.ChannelMult)-1 {
			if cfg.ResblockUpdown {
				resBlock(fmt.Sprintf("input_blocks.%d.0", n), ch, ch)
			} else {
				conv(fmt.Sprintf("input_blocks.%d.0.op", n), ch, ch, 3)
			}
			chans = append(chans, ch)
			ds *= 2
			n++
		}
	}
	sdmBlock("middle_block.0", ch, ch)
	attn("middle_block.1", ch)
	sdmBlock("middle_block.2", ch, ch)
	n = 0
	for level := len(cfg.ChannelMult) - 1; level >= 0; level-- {
		mult := cfg.ChannelMult[level]
		for i := 0; i < cfg.NumResBlocks+1; i++ {
			ich := chans[len(chans)-1]
			chans = chans[:len(chans)-1]
			sdmBlock(fmt.Sprintf("output_blocks.%d.0", n), ch+ich, mc*mult)
			ch = mc * mult
			k := 1
			if attnDS[ds] {
				attn(fmt.Sprintf("output_blocks.%d.1", n), ch)
				k = 2
			}
			if level > 0 && i == cfg.NumResBlocks {
				if cfg.ResblockUpdown {
					sdmBlock(fmt.Sprintf("output_blocks.%d.%d", n, k), ch, ch)
				} else {
					conv(fmt.Sprintf("output_blocks.%d.%d.conv", n, k), ch, ch, 3)
				}
				ds /= 2
			}
			n++
		}
	}
	gn("out.0", ch)
	conv("out.2", cfg.OutChannels(), inputCh, 3)
	return m
}

func compareNames(t *testing.T, want map[string][]int, got []*nn.Param) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range got {
		seen[p.Name] = true
		ws, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected parameter %s %v", p.Name, p.T.Shape())
			continue
		}
		if fmt.Sprint(ws) != fmt.Sprint(p.T.Shape()) {
			t.Errorf("%s has shape %v, official %v", p.Name, p.T.Shape(), ws)
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
		t.Errorf("missing official parameter %s %v", n, want[n])
	}
	if len(got) != len(want) {
		t.Errorf("%d tensors, official %d", len(got), len(want))
	}
}

// The official ADE20K U-Net (and variants of its switches) has exactly the
// official parameter names and shapes; built on a backend that allocates
// nothing.
func TestOfficialNames(t *testing.T) {
	plain := OfficialADE20K()
	plain.ResblockUpdown, plain.UseScaleShiftNorm, plain.LearnSigma = false, false, false
	for name, cfg := range map[string]Config{"ade20k": OfficialADE20K(), "no-updown-no-scaleshift": plain, "sdm64": Preset64(151)} {
		t.Run(name, func(t *testing.T) {
			u, err := NewUNet(nn.NewDevice(metaBackend{}), cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			compareNames(t, officialNames(cfg), u.Params.All())
			t.Logf("%s: %d tensors, %.1fM parameters", name, len(u.Params.All()), float64(u.Params.Count())/1e6)
		})
	}
}
