package backbone

import (
	"encoding/json"
	"fmt"

	"catsynth/nn"
)

// MetaKind marks catsynth backbone checkpoints in the safetensors metadata.
const (
	MetaKind  = "catsynth_kind"
	KindValue = "backbone"
)

// Save writes the network's parameters (unfolded, PyTorch names) and its
// Spec (as the "config" metadata) to path; ".zst" compresses, f16 halves the
// size (the weights of the nsfwjs models carry 8 bits per value anyway).
func (n *Net) Save(path string, f16 bool) error {
	return nn.SaveParams(path, n.ps.All(), nn.SaveOptions{
		Config:   n.Spec,
		Metadata: map[string]string{MetaKind: KindValue},
		F16:      f16,
	})
}

// Load reads a backbone checkpoint written by Save, or a pytorch-fid
// InceptionV3 state_dict (see IsFIDInception), and builds the network on dev.
func Load(dev *nn.Device, path string) (*Net, error) {
	c, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return FromFile(dev, c)
}

// LoadBytes is Load for a file in memory (the browser's fetched copy).
func LoadBytes(dev *nn.Device, data []byte, name string) (*Net, error) {
	c, err := nn.DecodeCheckpoint(data, name)
	if err != nil {
		return nil, err
	}
	return FromFile(dev, c)
}

// FromFile builds the network a read checkpoint describes (see Load).
func FromFile(dev *nn.Device, c *nn.Checkpoint) (*Net, error) {
	path := c.Path
	if c.Metadata[MetaKind] != KindValue && IsFIDInception(c) {
		return FIDInceptionFromCheckpoint(dev, c)
	}
	if c.Metadata[MetaKind] != KindValue || c.Config == nil {
		return nil, fmt.Errorf("backbone: %s is not a catsynth backbone checkpoint (no %s=%s metadata and spec)", path, MetaKind, KindValue)
	}
	var spec Spec
	if err := json.Unmarshal(c.Config, &spec); err != nil {
		return nil, fmt.Errorf("backbone: %s: spec: %w", path, err)
	}
	return FromCheckpoint(dev, spec, c)
}

// FromCheckpoint builds spec on dev and loads c's tensors into it (strict).
func FromCheckpoint(dev *nn.Device, spec Spec, c *nn.Checkpoint) (*Net, error) {
	net, err := New(dev, spec)
	if err != nil {
		return nil, err
	}
	if err := net.LoadInto(c); err != nil {
		net.Release()
		return nil, err
	}
	return net, nil
}
