package keras

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// bundleExport returns, as JSON text, the value a browserify bundle's first
// module assigns to module.exports: the layout of nsfwjs's model .min.js
// files ("...({1:[function(e,a,n){a.exports={modelTopology:...}}...").
func bundleExport(src []byte, name string) ([]byte, error) {
	i := bytes.Index(src, []byte("1:[function("))
	if i < 0 {
		return nil, fmt.Errorf("keras: %s: not a browserify bundle (no module 1)", name)
	}
	j := bytes.Index(src[i:], []byte(".exports="))
	if j < 0 {
		return nil, fmt.Errorf("keras: %s: module 1 assigns no exports", name)
	}
	out, _, err := jsLiteral(src[i+j+len(".exports="):])
	if err != nil {
		return nil, fmt.Errorf("keras: %s: %w", name, err)
	}
	return out, nil
}

// decodeModelFile parses a model file: plain JSON (tfjs model.json) or an
// nsfwjs .min.js bundle whose export is the same object.
func decodeModelFile(src []byte, name string) (*ModelJSON, error) {
	text := src
	if t := bytes.TrimSpace(src); len(t) == 0 || t[0] != '{' {
		var err error
		if text, err = bundleExport(src, name); err != nil {
			return nil, err
		}
	}
	var m ModelJSON
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("keras: %s: %w", name, err)
	}
	if m.Topology.ModelConfig.ClassName == "" {
		return nil, fmt.Errorf("keras: %s: no modelTopology.model_config (not a tfjs layers model)", name)
	}
	return &m, nil
}

// decodeShardFile returns the bytes of a weight shard: raw bytes (tfjs .bin),
// or the base64 string exported by an nsfwjs .min.js bundle.
func decodeShardFile(src []byte, name string, bundled bool) ([]byte, error) {
	if !bundled {
		return src, nil
	}
	text, err := bundleExport(src, name)
	if err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, fmt.Errorf("keras: %s: shard export is not a string: %w", name, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("keras: %s: shard is not base64: %w", name, err)
	}
	return b, nil
}
