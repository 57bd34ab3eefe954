package diffusion

import (
	"fmt"

	"catsynth/models"
	"catsynth/nn"
)

// Save writes the U-Net's parameters (or an EMA's shadow, params non-nil)
// to path as a model file of KindModel under the official names, with the
// config in the metadata (.zst compresses; f16 halves the file).
func Save(path string, u *UNet, params []*nn.Param, f16 bool) error {
	if params == nil {
		params = u.Params.All()
	}
	return saveModel(path, u, params, f16, nil)
}

// Load builds a U-Net on dev from a model file written by Save or
// converted from an official .pt (scripts/torch_sdm_unet.py --convert).
// cfg, when non-nil, is used instead of the file's config (an official
// checkpoint converted without --config has none). Every name and shape
// must match.
func Load(dev *nn.Device, path string, cfg *Config) (*UNet, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return loadUNet(dev, ck, cfg)
}

func loadUNet(dev *nn.Device, ck *nn.Checkpoint, cfg *Config) (*UNet, error) {
	if k := ck.Metadata[models.MetaKind]; k != "" && k != KindModel {
		return nil, fmt.Errorf("diffusion: %s is a %q file, not a diffusion model (%q)", ck.Path, k, KindModel)
	}
	c, err := configOf(ck, cfg)
	if err != nil {
		return nil, err
	}
	u, err := NewUNet(dev, c, 0)
	if err != nil {
		return nil, err
	}
	if err := ck.LoadInto(u.Params.All(), nn.LoadOptions{}); err != nil {
		u.Release()
		return nil, err
	}
	if err := ck.CheckFinite(); err != nil {
		u.Release()
		return nil, err
	}
	u.Params.SetTraining(false)
	return u, nil
}

// configOf is cfg, or the file's config.
func configOf(ck *nn.Checkpoint, cfg *Config) (Config, error) {
	switch {
	case cfg != nil:
		return *cfg, cfg.Validate()
	case ck.Config == nil:
		return Config{}, fmt.Errorf("diffusion: %s has no config in its metadata: pass one (e.g. OfficialADE20K())", ck.Path)
	}
	c, err := ParseConfig(ck.Config, ck.Path)
	if err != nil {
		return Config{}, err
	}
	if len(c.ClassNames) == 0 && len(ck.ClassNames) == c.NumClasses {
		c.ClassNames = ck.ClassNames
	}
	return c, nil
}
