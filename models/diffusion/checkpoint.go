package diffusion

import (
	"fmt"

	"catsynth/nn"
)

// Save writes the U-Net's parameters (or an EMA's shadow, params non-nil)
// to path as safetensors under the official names, with the config in the
// metadata (.zst compresses; f16 halves the file).
func Save(path string, u *UNet, params []*nn.Param, f16 bool) error {
	if params == nil {
		params = u.Params.All()
	}
	return nn.SaveParams(path, params, nn.SaveOptions{Config: u.Config, ClassNames: u.Config.ClassNames, F16: f16})
}

// Load builds a U-Net on dev from a checkpoint written by Save or
// converted from an official .pt (scripts/torch_sdm_unet.py --convert).
// cfg, when non-nil, is used instead of the file's config (an official
// checkpoint converted without --config has none). Every name and shape
// must match.
func Load(dev *nn.Device, path string, cfg *Config) (*UNet, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	var c Config
	switch {
	case cfg != nil:
		c = *cfg
	case ck.Config == nil:
		return nil, fmt.Errorf("diffusion: %s has no config in its metadata: pass one (e.g. OfficialADE20K())", path)
	default:
		if c, err = ParseConfig(ck.Config, path); err != nil {
			return nil, err
		}
	}
	u, err := NewUNet(dev, c, 0)
	if err != nil {
		return nil, err
	}
	if err := ck.LoadInto(u.Params.All(), nn.LoadOptions{}); err != nil {
		u.Release()
		return nil, err
	}
	return u, nil
}
