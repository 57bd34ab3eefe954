package keras

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzDecodeModel feeds arbitrary model-file and shard bytes through the
// importer's decoders (model.json or a bundled model.min.js, the weight
// shards, the Keras-to-catsynth conversion): every outcome is a result or an
// error, never a panic; accepted weights have as many values as their shape.
//
//	go test -run '^$' -fuzz FuzzDecodeModel ./backbone/keras
func FuzzDecodeModel(f *testing.F) {
	names, ws := tinyWeights(3)
	for _, quant := range []bool{false, true} {
		g, data := EncodeWeights(names, ws, quant)
		g.Paths = []string{"group1-shard1of1"}
		manifest, err := json.Marshal([]WeightGroup{g})
		if err != nil {
			f.Fatal(err)
		}
		model := "{modelTopology:" + tinyTopology + ",weightsManifest:" + string(manifest) + "}"
		f.Add([]byte(bundle("model", model)), []byte(bundle("shard", `"`+base64.StdEncoding.EncodeToString(data)+`"`)), true)
		out, _, err := jsLiteral([]byte(model))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out, data, false)
	}
	f.Add([]byte(`{"modelTopology":{"model_config":{"class_name":"Sequential","config":[]}}}`), []byte{}, false)
	f.Fuzz(func(t *testing.T, model, shard []byte, bundled bool) {
		m, err := decodeModelFile(model, "model.json")
		if err != nil {
			return
		}
		data, err := decodeShardFile(shard, "shard", bundled)
		if err != nil {
			return
		}
		weights := map[string]Weight{}
		for _, g := range m.WeightsManifest {
			got, err := DecodeWeights(g, data)
			if err != nil {
				return
			}
			for k, w := range got {
				n := 1
				for _, d := range w.Shape {
					n *= d
				}
				if n != len(w.Data) {
					t.Fatalf("weight %q: shape %v but %d values", k, w.Shape, len(w.Data))
				}
				weights[k] = w
			}
		}
		spec, params, err := ConvertSpec(m, weights, Options{Name: "fuzz"})
		if err != nil {
			return
		}
		if len(spec.Nodes) == 0 {
			t.Fatalf("converted spec has no nodes (%d params)", len(params))
		}
		spec.Infer() // a converted spec may still be refused here, but must not panic
	})
}
