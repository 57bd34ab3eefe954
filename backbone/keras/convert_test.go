package keras

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/nn"
)

// tinyTopology is a hand-written Keras functional model in the minified
// form nsfwjs ships (unquoted keys, !0/!1, .5). It exercises every layer
// class the importer supports, odd and non-square sizes, asymmetric "same"
// padding (stride 2), depthwise convolution with multiplier 2, batch norm
// with and without scale, ReLU6, 1x3/3x1 convolutions, Add, Concatenate,
// average pooling that excludes padding, max pooling, global average
// pooling, channels-last Flatten, Dense, Dropout and softmax.
const tinyTopology = `{keras_version:"2.2.4",backend:"tensorflow",model_config:{class_name:"Model",config:{name:"tiny",layers:[
{name:"input_1",class_name:"InputLayer",config:{batch_input_shape:[null,9,10,3],dtype:"float32",sparse:!1,name:"input_1"},inbound_nodes:[]},
{name:"pad",class_name:"ZeroPadding2D",config:{name:"pad",padding:[[0,1],[1,0]],data_format:"channels_last"},inbound_nodes:[[["input_1",0,0,{}]]]},
{name:"c1",class_name:"Conv2D",config:{name:"c1",filters:4,kernel_size:[3,3],strides:[2,2],padding:"valid",data_format:"channels_last",dilation_rate:[1,1],activation:"linear",use_bias:!1},inbound_nodes:[[["pad",0,0,{}]]]},
{name:"bn1",class_name:"BatchNormalization",config:{name:"bn1",axis:-1,momentum:.999,epsilon:.001,center:!0,scale:!0},inbound_nodes:[[["c1",0,0,{}]]]},
{name:"r1",class_name:"ReLU",config:{name:"r1",max_value:6,negative_slope:0,threshold:0},inbound_nodes:[[["bn1",0,0,{}]]]},
{name:"dw",class_name:"DepthwiseConv2D",config:{name:"dw",kernel_size:[3,3],strides:[1,1],padding:"same",depth_multiplier:2,data_format:"channels_last",dilation_rate:[1,1],activation:"linear",use_bias:!0},inbound_nodes:[[["r1",0,0,{}]]]},
{name:"bn2",class_name:"BatchNormalization",config:{name:"bn2",axis:3,epsilon:1e-3,center:!0,scale:!1},inbound_nodes:[[["dw",0,0,{}]]]},
{name:"a2",class_name:"Activation",config:{name:"a2",activation:"relu"},inbound_nodes:[[["bn2",0,0,{}]]]},
{name:"c2",class_name:"Conv2D",config:{name:"c2",filters:8,kernel_size:[1,1],strides:[1,1],padding:"same",activation:"linear",use_bias:!0},inbound_nodes:[[["a2",0,0,{}]]]},
{name:"add",class_name:"Add",config:{name:"add"},inbound_nodes:[[["a2",0,0,{}],["c2",0,0,{}]]]},
{name:"c3",class_name:"Conv2D",config:{name:"c3",filters:3,kernel_size:[1,3],strides:[1,1],padding:"same",activation:"relu",use_bias:!1},inbound_nodes:[[["add",0,0,{}]]]},
{name:"c4",class_name:"Conv2D",config:{name:"c4",filters:3,kernel_size:[3,1],strides:[1,1],padding:"same",activation:"linear",use_bias:!0},inbound_nodes:[[["add",0,0,{}]]]},
{name:"cat",class_name:"Concatenate",config:{name:"cat",axis:3},inbound_nodes:[[["c3",0,0,{}],["c4",0,0,{}]]]},
{name:"ap",class_name:"AveragePooling2D",config:{name:"ap",pool_size:[3,3],strides:[1,1],padding:"same",data_format:"channels_last"},inbound_nodes:[[["cat",0,0,{}]]]},
{name:"mp",class_name:"MaxPooling2D",config:{name:"mp",pool_size:[2,2],strides:[2,2],padding:"valid",data_format:"channels_last"},inbound_nodes:[[["ap",0,0,{}]]]},
{name:"c5",class_name:"Conv2D",config:{name:"c5",filters:5,kernel_size:[3,3],strides:[2,2],padding:"same",activation:"tanh",use_bias:!0},inbound_nodes:[[["ap",0,0,{}]]]},
{name:"gap",class_name:"GlobalAveragePooling2D",config:{name:"gap",data_format:"channels_last"},inbound_nodes:[[["c5",0,0,{}]]]},
{name:"fl",class_name:"Flatten",config:{name:"fl",data_format:"channels_last"},inbound_nodes:[[["mp",0,0,{}]]]},
{name:"fcat",class_name:"Concatenate",config:{name:"fcat",axis:-1},inbound_nodes:[[["gap",0,0,{}],["fl",0,0,{}]]]},
{name:"d1",class_name:"Dense",config:{name:"d1",units:4,activation:"relu",use_bias:!0},inbound_nodes:[[["fcat",0,0,{}]]]},
{name:"dr",class_name:"Dropout",config:{name:"dr",rate:.5,noise_shape:null,seed:null},inbound_nodes:[[["d1",0,0,{}]]]},
{name:"d2",class_name:"Dense",config:{name:"d2",units:3,activation:"softmax",use_bias:!0},inbound_nodes:[[["dr",0,0,{}]]]}
],input_layers:[["input_1",0,0]],output_layers:[["d2",0,0]]}}}`

// tinyWeightShapes lists the tiny model's weights in manifest order.
var tinyWeightShapes = []struct {
	name  string
	shape []int
}{
	{"c1/kernel", []int{3, 3, 3, 4}},
	{"bn1/gamma", []int{4}}, {"bn1/beta", []int{4}}, {"bn1/moving_mean", []int{4}}, {"bn1/moving_variance", []int{4}},
	{"dw/depthwise_kernel", []int{3, 3, 4, 2}}, {"dw/bias", []int{8}},
	{"bn2/beta", []int{8}}, {"bn2/moving_mean", []int{8}}, {"bn2/moving_variance", []int{8}},
	{"c2/kernel", []int{1, 1, 8, 8}}, {"c2/bias", []int{8}},
	{"c3/kernel", []int{1, 3, 8, 3}},
	{"c4/kernel", []int{3, 1, 8, 3}}, {"c4/bias", []int{3}},
	{"c5/kernel", []int{3, 3, 6, 5}}, {"c5/bias", []int{5}},
	{"d1/kernel", []int{29, 4}}, {"d1/bias", []int{4}},
	{"d2/kernel", []int{4, 3}}, {"d2/bias", []int{3}},
}

// tinyWeights draws random weights (variances in [0.5, 1.5]).
func tinyWeights(seed uint64) ([]string, map[string]Weight) {
	r := rand.New(rand.NewPCG(seed, 1))
	ws := map[string]Weight{}
	var names []string
	for _, s := range tinyWeightShapes {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64() * 0.5)
			if strings.HasSuffix(s.name, "variance") {
				data[i] = float32(0.5 + r.Float64())
			}
		}
		names = append(names, s.name)
		ws[s.name] = Weight{Shape: s.shape, Data: data}
	}
	return names, ws
}

// bundle wraps a JS expression the way browserify's UMD prelude does in nsfwjs.
func bundle(global, expr string) string {
	return `!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();else{("undefined"!=typeof window?window:this).` +
		global + `=e()}}(function(){return function e(a,n,i){function l(_,o){return a[_][0]}return l}({1:[function(e,a,n){a.exports=` +
		expr + `},{}]},{},[1])(1)});`
}

// writeTinyModel writes the tiny model as nsfwjs lays models out
// (model.min.js + base64 shard bundles, uint8-quantized weights) and returns
// the dequantized weights the files hold.
func writeTinyModel(t *testing.T, dir string, seed uint64) map[string]Weight {
	t.Helper()
	names, ws := tinyWeights(seed)
	g, data := EncodeWeights(names, ws, true)
	g.Paths = []string{"group1-shard1of2", "group1-shard2of2"}
	manifest, err := json.Marshal([]WeightGroup{g})
	if err != nil {
		t.Fatal(err)
	}
	model := "{modelTopology:" + tinyTopology + ",weightsManifest:" + string(manifest) + "}"
	files := map[string]string{
		"model.min.js":            bundle("model", model),
		"group1-shard1of2.min.js": bundle("shard1", `"`+base64.StdEncoding.EncodeToString(data[:100])+`"`),
		"group1-shard2of2.min.js": bundle("shard2", `"`+base64.StdEncoding.EncodeToString(data[100:])+`"`),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deq, err := DecodeWeights(g, data)
	if err != nil {
		t.Fatal(err)
	}
	return deq
}

// tinyReference runs the tiny model in float64 on one NHWC image and returns
// the probabilities and the features (the first Dense layer's input).
func tinyReference(x img, w map[string]Weight) (probs, feats []float64) {
	d := func(n string) []float32 { return w[n].Data }
	y := refZeroPad(x, 0, 1, 1, 0)
	y = refConv(y, w["c1/kernel"], nil, 2, false, 0)
	y = refBN(y, d("bn1/gamma"), d("bn1/beta"), d("bn1/moving_mean"), d("bn1/moving_variance"), 1e-3)
	y = refMap(y, relu6)
	y = refConv(y, w["dw/depthwise_kernel"], d("dw/bias"), 1, true, 2)
	y = refBN(y, nil, d("bn2/beta"), d("bn2/moving_mean"), d("bn2/moving_variance"), 1e-3)
	a2 := refMap(y, relu)
	add := refAdd(a2, refConv(a2, w["c2/kernel"], d("c2/bias"), 1, true, 0))
	c3 := refMap(refConv(add, w["c3/kernel"], nil, 1, true, 0), relu)
	c4 := refConv(add, w["c4/kernel"], d("c4/bias"), 1, true, 0)
	ap := refPool(refConcat(c3, c4), 3, 1, true, false)
	mp := refPool(ap, 2, 2, false, true)
	c5 := refMap(refConv(ap, w["c5/kernel"], d("c5/bias"), 2, true, 0), math.Tanh)
	feats = append(refGAP(c5), mp.d...) // Flatten of (H, W, C) is mp.d itself
	h := refDense(feats, w["d1/kernel"], d("d1/bias"))
	for i := range h {
		h[i] = relu(h[i])
	}
	return softmax(refDense(h, w["d2/kernel"], d("d2/bias"))), feats
}

func TestTinyModelMatchesReference(t *testing.T) {
	const seed = 42
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	deq := writeTinyModel(t, dir, seed)
	m, ws, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	net, err := Convert(dev, m, ws, Options{Name: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	if net.Spec.Features != "fcat" || net.Spec.Output != "d2" {
		t.Fatalf("features %q output %q, want fcat and d2", net.Spec.Features, net.Spec.Output)
	}
	const n, h, w = 2, 9, 10
	imgs := testImages(seed, n, h, w)
	x := dev.FromData(nhwcToNCHW(imgs, n, h, w, 3), n, 3, h, w)
	defer x.Release()
	outs, err := net.Forward(x, "d2", "fcat")
	if err != nil {
		t.Fatal(err)
	}
	probs, _ := outs[0].Data()
	feats, _ := outs[1].Data()
	for i := range n {
		in := img{h, w, 3, make([]float64, h*w*3)}
		for k := range in.d {
			in.d[k] = float64(imgs[i*h*w*3+k])
		}
		rp, rf := tinyReference(in, deq)
		check := func(what string, got []float32, want []float64) {
			if len(got) != len(want) {
				t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
			}
			for k := range want {
				if math.Abs(float64(got[k])-want[k]) > 1e-4*(1+math.Abs(want[k])) {
					t.Errorf("image %d %s[%d] = %g, reference %g", i, what, k, got[k], want[k])
				}
			}
		}
		check("probs", probs[i*3:(i+1)*3], rp)
		check("features", feats[i*29:(i+1)*29], rf)
	}
	// Folding happened: c1 and dw feed batch norms alone.
	if _, err := net.Forward(x, "c1"); err == nil || !strings.Contains(err.Error(), "folded") {
		t.Errorf("asking for a folded conv's output: err = %v, want a 'folded' error", err)
	}
	if dev.LiveBuffers() == 0 {
		t.Errorf("no live buffers: the net's weights are gone?")
	}
}

func TestTinyModelReleasesIntermediates(t *testing.T) {
	dir := t.TempDir()
	writeTinyModel(t, dir, 1)
	m, ws, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := nn.Open("cpu")
	net, err := Convert(dev, m, ws, Options{Name: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	x := dev.Zeros(1, 3, 9, 10)
	if err := net.Compile(); err != nil {
		t.Fatal(err)
	}
	before := dev.LiveBuffers()
	outs, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.LiveBuffers(); got != before+1 {
		t.Errorf("live buffers %d after Forward, want %d (+1 output)", got, before+1)
	}
	outs[0].Release()
	x.Release()
	net.Release()
	if got := dev.LiveBuffers(); got != 0 {
		t.Errorf("%d buffers leaked", got)
	}
}
