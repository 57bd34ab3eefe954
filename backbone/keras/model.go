package keras

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"catsynth/nn/safetensors"
)

// ModelJSON is a tfjs layers model file (model.json): the Keras topology and
// the manifest of the binary weights.
type ModelJSON struct {
	Topology        Topology      `json:"modelTopology"`
	WeightsManifest []WeightGroup `json:"weightsManifest"`
}

// Topology is Keras's model description as tfjs stores it.
type Topology struct {
	KerasVersion string `json:"keras_version"`
	Backend      string `json:"backend"`
	ModelConfig  struct {
		ClassName string          `json:"class_name"` // "Model", "Functional" or "Sequential"
		Config    json.RawMessage `json:"config"`
	} `json:"model_config"`
}

// Layer is one Keras layer: its class, config and the layers it reads.
type Layer struct {
	Name         string          `json:"name"`
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
	InboundNodes json.RawMessage `json:"inbound_nodes"`
}

// WeightGroup is one entry of the weights manifest: shard files whose
// concatenated bytes hold the listed weights back to back.
type WeightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []WeightSpec `json:"weights"`
}

// WeightSpec describes one stored weight.
type WeightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"`
	Quantization *Quantization `json:"quantization,omitempty"`
}

// Quantization is tfjs's weight quantization: integers q stored as DType
// ("uint8" or "uint16") meaning q*Scale + Min, or "float16" values.
type Quantization struct {
	Min   float64 `json:"min"`
	Scale float64 `json:"scale"`
	DType string  `json:"dtype"`
}

// Weight is a decoded weight in its Keras layout (e.g. kernels KH, KW, In, Out).
type Weight struct {
	Shape []int
	Data  []float32
}

func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return 0, fmt.Errorf("bad shape %v", shape)
		}
		n *= d
	}
	return n, nil
}

// DecodeWeights decodes the weights of one manifest group from the
// concatenated bytes of its shards, dequantizing uint8/uint16 (q*scale+min)
// and float16 values to float32.
func DecodeWeights(g WeightGroup, data []byte) (map[string]Weight, error) {
	out := map[string]Weight{}
	off := 0
	for _, w := range g.Weights {
		n, err := numel(w.Shape)
		if err != nil {
			return nil, fmt.Errorf("keras: weight %q: %w", w.Name, err)
		}
		dt := w.DType
		if w.Quantization != nil {
			dt = w.Quantization.DType
		}
		var size int
		switch dt {
		case "float32", "int32":
			size = 4
		case "uint16", "float16":
			size = 2
		case "uint8":
			size = 1
		default:
			return nil, fmt.Errorf("keras: weight %q: unsupported dtype %q", w.Name, dt)
		}
		if w.Quantization != nil && (dt == "float32" || dt == "int32") {
			return nil, fmt.Errorf("keras: weight %q: quantization dtype %q", w.Name, dt)
		}
		if off+n*size > len(data) || off+n*size < off {
			return nil, fmt.Errorf("keras: weight %q needs bytes [%d, %d) but the shards hold %d", w.Name, off, off+n*size, len(data))
		}
		b := data[off : off+n*size]
		off += n * size
		vals := make([]float32, n)
		switch dt {
		case "float32":
			for i := range vals {
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		case "int32":
			for i := range vals {
				vals[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
			}
		case "float16":
			for i := range vals {
				vals[i] = safetensors.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
			}
		case "uint8", "uint16":
			q := w.Quantization
			if q == nil {
				return nil, fmt.Errorf("keras: weight %q: dtype %s without quantization", w.Name, dt)
			}
			for i := range vals {
				v := float64(b[i])
				if dt == "uint16" {
					v = float64(binary.LittleEndian.Uint16(b[2*i:]))
				}
				vals[i] = float32(v*q.Scale + q.Min)
			}
		}
		if _, dup := out[w.Name]; dup {
			return nil, fmt.Errorf("keras: weight %q listed twice", w.Name)
		}
		out[w.Name] = Weight{Shape: w.Shape, Data: vals}
	}
	if off != len(data) {
		return nil, fmt.Errorf("keras: the manifest describes %d bytes but the shards hold %d", off, len(data))
	}
	return out, nil
}

// EncodeWeights is DecodeWeights' inverse for tests and tools: it quantizes
// each weight as q = round((v-min)/scale) with dtype uint8 (or stores
// float32 when quant is false) and returns the manifest group and the bytes.
func EncodeWeights(names []string, ws map[string]Weight, quant bool) (WeightGroup, []byte) {
	var g WeightGroup
	var data []byte
	for _, name := range names {
		w := ws[name]
		spec := WeightSpec{Name: name, Shape: w.Shape, DType: "float32"}
		if !quant {
			for _, v := range w.Data {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			}
			g.Weights = append(g.Weights, spec)
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range w.Data {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		scale := (hi - lo) / 255
		if scale == 0 {
			scale = 1
		}
		spec.Quantization = &Quantization{Min: lo, Scale: scale, DType: "uint8"}
		for _, v := range w.Data {
			data = append(data, byte(math.Round((float64(v)-lo)/scale)))
		}
		g.Weights = append(g.Weights, spec)
	}
	return g, data
}
