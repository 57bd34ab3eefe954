package keras

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestJSLiteral(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{`{a:1,b:"x",c:!0,d:!1,e:null}`, `{"a":1,"b":"x","c":true,"d":false,"e":null}`},
		{`[.5,-.25,1e-3,-2E+2,+3]`, `[0.5,-0.25,0.001,-200,3]`},
		{`{ "q" : 'it\'s', 0:[], $x:{} , }`, `{"q":"it's","0":[],"$x":{}}`},
		{`["a\nb\u0041\x42\\"]`, `["a\nbAB\\"]`},
		{`[void 0,true,false,[1,]]rest`, `[null,true,false,[1]]`},
	}
	for _, c := range cases {
		got, n, err := jsLiteral([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Errorf("%s: output %s is not JSON: %v", c.in, got, err)
			continue
		}
		json.Unmarshal([]byte(c.want), &b)
		if ja, _ := json.Marshal(a); string(ja) != mustMarshal(b) {
			t.Errorf("%s -> %s, want %s", c.in, ja, c.want)
		}
		if strings.HasSuffix(c.in, "rest") && c.in[n:] != "rest" {
			t.Errorf("%s: consumed %d bytes, left %q", c.in, n, c.in[n:])
		}
	}
	for _, bad := range []string{``, `{a:}`, `{a 1}`, `[1 2]`, `"open`, `{1a:2}`, `[1.2.3]`, `nul`, strings.Repeat("[", 300)} {
		if _, _, err := jsLiteral([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func mustMarshal(v any) string { b, _ := json.Marshal(v); return string(b) }

func FuzzJSLiteral(f *testing.F) {
	f.Add([]byte(tinyTopology))
	f.Add([]byte(`{a:[.5,!0,"x\u0041"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, n, err := jsLiteral(b)
		if err != nil {
			return
		}
		if n > len(b) || !json.Valid(out) {
			t.Fatalf("consumed %d of %d bytes, output valid=%v: %s", n, len(b), json.Valid(out), out)
		}
	})
}

func TestDecodeWeightsRoundTrip(t *testing.T) {
	const seed = 8
	t.Logf("seed %d", seed)
	names, ws := tinyWeights(seed)
	for _, quant := range []bool{false, true} {
		g, data := EncodeWeights(names, ws, quant)
		got, err := DecodeWeights(g, data)
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range names {
			tol := 0.0
			if q := g.Weights[i].Quantization; q != nil {
				tol = q.Scale/2 + 1e-6
			}
			for k, v := range ws[name].Data {
				if math.Abs(float64(got[name].Data[k]-v)) > tol {
					t.Fatalf("quant=%v %s[%d] = %g, want %g (tol %g)", quant, name, k, got[name].Data[k], v, tol)
				}
			}
		}
	}
	// uint16 and float16 quantization decode as tfjs defines them.
	g := WeightGroup{Weights: []WeightSpec{
		{Name: "a", Shape: []int{2}, DType: "float32", Quantization: &Quantization{Min: -1, Scale: 0.5, DType: "uint16"}},
		{Name: "b", Shape: []int{1}, DType: "float32", Quantization: &Quantization{DType: "float16"}},
	}}
	got, err := DecodeWeights(g, []byte{3, 0, 0, 1, 0x00, 0x3c})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := got["a"].Data, got["b"].Data; a[0] != 0.5 || a[1] != 127 || b[0] != 1 {
		t.Errorf("decoded a=%v b=%v, want [0.5 127] [1]", a, b)
	}
}

func TestDecodeWeightsErrors(t *testing.T) {
	w := func(dt string, q *Quantization, shape ...int) WeightGroup {
		return WeightGroup{Weights: []WeightSpec{{Name: "w", Shape: shape, DType: dt, Quantization: q}}}
	}
	u8 := &Quantization{Min: 0, Scale: 1, DType: "uint8"}
	cases := []struct {
		name string
		g    WeightGroup
		data []byte
		want string
	}{
		{"short", w("float32", nil, 2), make([]byte, 7), "needs bytes"},
		{"long", w("float32", nil, 1), make([]byte, 5), "describes 4 bytes"},
		{"dtype", w("bool", nil, 1), make([]byte, 1), "unsupported dtype"},
		{"uint8 without quantization", w("uint8", nil, 1), make([]byte, 1), "without quantization"},
		{"negative shape", w("float32", nil, -1), nil, "bad shape"},
		{"huge shape", w("float32", u8, 1<<20, 1<<20), nil, "bad shape"},
		{"duplicate", WeightGroup{Weights: []WeightSpec{{Name: "w", Shape: []int{1}, DType: "float32"}, {Name: "w", Shape: []int{1}, DType: "float32"}}}, make([]byte, 8), "twice"},
	}
	for _, c := range cases {
		if _, err := DecodeWeights(c.g, c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	_, ws := tinyWeights(1)
	base := "{modelTopology:" + tinyTopology + "}"
	cases := []struct {
		name, from, to, want string
		drop                 string
	}{
		{name: "dilation", from: `name:"c3",filters:3,kernel_size:[1,3],strides:[1,1]`, to: `name:"c3",filters:3,kernel_size:[1,3],dilation_rate:[2,2],strides:[1,1]`, want: "dilation"},
		{name: "activation", from: `activation:"tanh"`, to: `activation:"selu"`, want: "unsupported activation"},
		{name: "layer class", from: `class_name:"Add"`, to: `class_name:"Multiply"`, want: "unsupported layer class"},
		{name: "relu6 only", from: `max_value:6`, to: `max_value:4`, want: "max_value"},
		{name: "channels_first", from: `name:"mp",pool_size:[2,2],strides:[2,2],padding:"valid",data_format:"channels_last"`, to: `name:"mp",pool_size:[2,2],strides:[2,2],padding:"valid",data_format:"channels_first"`, want: "channels_last"},
		{name: "undefined input", from: `[["a2",0,0,{}],["c2",0,0,{}]]`, to: `[["a2",0,0,{}],["nope",0,0,{}]]`, want: "not defined"},
		{name: "missing weight", drop: "c4/bias", want: "c4/bias is missing"},
		{name: "unused weight", drop: "+extra/kernel", want: "not used"},
	}
	for _, c := range cases {
		src := base
		if c.from != "" {
			if !strings.Contains(src, c.from) {
				t.Fatalf("%s: topology lacks %q", c.name, c.from)
			}
			src = strings.Replace(src, c.from, c.to, 1)
		}
		text, _, err := jsLiteral([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var m ModelJSON
		if err := json.Unmarshal(text, &m); err != nil {
			t.Fatal(err)
		}
		w := map[string]Weight{}
		for k, v := range ws {
			w[k] = v
		}
		if strings.HasPrefix(c.drop, "+") {
			w[c.drop[1:]] = Weight{Shape: []int{1}, Data: []float32{0}}
		} else if c.drop != "" {
			delete(w, c.drop)
		}
		if _, _, err := ConvertSpec(&m, w, Options{Name: "tiny"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}
