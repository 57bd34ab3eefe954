package keras

import (
	"fmt"

	"catsynth/backbone"
	"catsynth/nn"
)

// nsfwjsNames are the report names of the imported networks: they say that
// the weights are nsfwjs's fine-tunes, not the standard FID network.
var nsfwjsNames = map[string]string{
	"mobilenet_v2": "nsfwjs " + NSFWJSVersion + " MobileNetV2 224px (NSFW-classifier fine-tune; 1280-d pooled features)",
	"inception_v3": "nsfwjs " + NSFWJSVersion + " InceptionV3 299px (NSFW-classifier fine-tune, not the standard FID weights; 2048-d pooled features)",
}

// BackboneFile is the file name `catsynth import tfjs` writes for an nsfwjs model.
func BackboneFile(model string) string { return "nsfwjs-" + model + ".safetensors.zst" }

// ImportNSFWJS converts the nsfwjs model ("mobilenet_v2", "inception_v3")
// from an unpacked package folder into a backbone on dev. Inputs are RGB in
// [0, 1] (nsfwjs divides pixels by 255); the features are the pooled,
// flattened activations before the classifier head.
func ImportNSFWJS(dev *nn.Device, pkgDir, model string) (*backbone.Net, error) {
	name, ok := nsfwjsNames[model]
	if !ok {
		return nil, fmt.Errorf("keras: unknown nsfwjs model %q (have %v)", model, NSFWJSModels)
	}
	m, ws, err := ReadModelDir(NSFWJSModelDir(pkgDir, model))
	if err != nil {
		return nil, err
	}
	return Convert(dev, m, ws, Options{
		Name:   name,
		Source: fmt.Sprintf("npm %s@%s dist/models/%s (MIT licence, docs/licenses/nsfwjs-LICENSE)", NSFWJSPackage, NSFWJSVersion, model),
	})
}
