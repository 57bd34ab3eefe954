package affinity

import (
	"fmt"

	"catsynth/backbone"
	"catsynth/nn"
)

// BackboneFeatures makes a pretrained classification backbone the vision
// estimator's feature extractor: the spatial map just before its pooling
// head (pooling, flatten and identity nodes are walked back over), for
// images in [-1, 1] at the backbone's square input size. It returns the
// extractor, a name recorded with the prototypes, and the input size.
func BackboneFeatures(net *backbone.Net) (FeatureExtractor, string, int, error) {
	s := net.Spec
	byName := map[string]backbone.Node{}
	for _, nd := range s.Nodes {
		byName[nd.Name] = nd
	}
	node := s.Features
	for {
		nd, ok := byName[node]
		if !ok || len(nd.Inputs) != 1 {
			break
		}
		if nd.Op != "flatten" && nd.Op != "avgpool" && nd.Op != "globalavgpool" && nd.Op != "identity" {
			break
		}
		node = nd.Inputs[0]
	}
	if s.InputH != s.InputW {
		return nil, "", 0, fmt.Errorf("vision: backbone %q wants %dx%d images; only square inputs are supported", s.Name, s.InputW, s.InputH)
	}
	fx := FeatureFunc(func(x *nn.Tensor) (*nn.Tensor, error) {
		out, err := net.Forward(nn.Affine(x, 0.5, 0.5), node) // the backbones take [0, 1]
		if err != nil {
			return nil, err
		}
		return out[0], nil
	})
	return fx, s.Name + " / " + node, s.InputH, nil
}
