package keras

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"catsynth/nn"
)

// The tfjs version the parity script runs (pure-JS CPU backend), pinned.
const tfjsVersion = "4.22.0"

// testCache is a per-user folder reused between test runs for npm downloads.
func testCache(t *testing.T, name string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "catsynth", "test", name)
}

// nsfwjsPackage returns an unpacked nsfwjs package, fetching it with npm on
// first use; it skips the test when that is impossible (no npm, no network
// and an empty npm cache) or when -short is set.
func nsfwjsPackage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the test that needs the nsfwjs npm package")
	}
	if dir := os.Getenv("CATSYNTH_NSFWJS_DIR"); dir != "" {
		return dir
	}
	dest := testCache(t, "nsfwjs-"+NSFWJSVersion)
	pkg := filepath.Join(dest, "package")
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err == nil {
		return pkg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tmp := dest + ".tmp"
	os.RemoveAll(tmp)
	if _, err := FetchNPM(ctx, NSFWJSPackage+"@"+NSFWJSVersion, tmp); err != nil {
		t.Skipf("nsfwjs package unavailable (no npm, or no network and no npm cache): %v", err)
	}
	os.RemoveAll(dest)
	if err := os.Rename(tmp, dest); err != nil {
		t.Fatal(err)
	}
	return pkg
}

// tfjsModules returns a node_modules folder with the pinned tfjs packages,
// installing them with npm on first use; it skips when node or the packages
// are unavailable.
func tfjsModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := testCache(t, "tfjs-"+tfjsVersion)
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "@tensorflow", "tfjs-layers", "package.json")); err == nil {
		return mods
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--prefer-offline"}
	for _, p := range []string{"tfjs-core", "tfjs-layers", "tfjs-backend-cpu"} {
		args = append(args, "@tensorflow/"+p+"@"+tfjsVersion)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", args...).CombinedOutput(); err != nil {
		t.Skipf("cannot install tfjs %s with npm: %v\n%s", tfjsVersion, err, out)
	}
	return mods
}

// testImages returns n smooth random images (N, H, W, 3) in [0, 1]
// (NHWC, as tfjs wants them): a few random sinusoids plus a little noise.
func testImages(seed uint64, n, h, w int) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, n*h*w*3)
	for i := range n {
		var fx, fy, ph [3][3]float64
		for c := range 3 {
			for k := range 3 {
				fx[c][k], fy[c][k], ph[c][k] = r.Float64()*12, r.Float64()*12, r.Float64()*6.3
			}
		}
		for y := range h {
			for x := range w {
				for c := range 3 {
					v := 0.5
					for k := range 3 {
						v += 0.15 * math.Sin(fx[c][k]*float64(x)/float64(w)+fy[c][k]*float64(y)/float64(h)+ph[c][k])
					}
					v += 0.05 * (r.Float64() - 0.5)
					out[((i*h+y)*w+x)*3+c] = float32(min(max(v, 0), 1))
				}
			}
		}
	}
	return out
}

// nhwcToNCHW reorders images for nn.
func nhwcToNCHW(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for i := range n {
		for y := range h {
			for xx := range w {
				for ch := range c {
					out[((i*c+ch)*h+y)*w+xx] = x[((i*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out
}

type tfjsResult struct {
	TFJS    string `json:"tfjs"`
	Backend string `json:"backend"`
	Outputs map[string]struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"outputs"`
}

// runTFJS runs testdata/tfjs_predict.cjs on the images and returns the
// layers' outputs as tfjs computes them.
func runTFJS(t *testing.T, modelDir string, imgs []float32, n int, layers ...string) *tfjsResult {
	t.Helper()
	mods := tfjsModules(t)
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in.f32")
	buf := make([]byte, 4*len(imgs))
	for i, v := range imgs {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "tfjs_predict.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(tmp, "out.json")
	args := append([]string{script, modelDir, in, itoa(n), outPath}, layers...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, out)
	}
	t.Logf("tfjs in node: %v", time.Since(start))
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var res tfjsResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// compareOutputs checks |ours - ref| <= atol + rtol*max|ref| element-wise.
func compareOutputs(t *testing.T, name string, ours []float32, ref []float64, atol, rtol float64) {
	t.Helper()
	if len(ours) != len(ref) {
		t.Fatalf("%s: %d values, tfjs has %d", name, len(ours), len(ref))
	}
	scale, worst := 0.0, 0.0
	for _, v := range ref {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range ref {
		worst = math.Max(worst, math.Abs(float64(ours[i])-ref[i]))
	}
	t.Logf("%s: max |ours - tfjs| = %.3g (max |tfjs| %.3g)", name, worst, scale)
	if !(worst <= atol+rtol*scale) {
		t.Errorf("%s: max |ours - tfjs| = %.3g exceeds %.3g", name, worst, atol+rtol*scale)
	}
}

// checkParity imports model from the nsfwjs package, runs n images through
// it here and in tfjs, and compares the class probabilities and features.
func checkParity(t *testing.T, model string, n int) {
	pkg := nsfwjsPackage(t)
	dir := NSFWJSModelDir(pkg, model)
	m, ws, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	net, err := Convert(dev, m, ws, Options{Name: model})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	s := net.Spec
	const seed = 20261126
	t.Logf("seed %d, %d images %dx%d", seed, n, s.InputH, s.InputW)
	imgs := testImages(seed, n, s.InputH, s.InputW)
	ref := runTFJS(t, dir, imgs, n, s.Output, s.Features)
	x := dev.FromData(nhwcToNCHW(imgs, n, s.InputH, s.InputW, 3), n, 3, s.InputH, s.InputW)
	defer x.Release()
	outs, err := net.Forward(x, s.Output, s.Features)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{s.Output, s.Features} {
		got, err := outs[i].Data()
		if err != nil {
			t.Fatal(err)
		}
		outs[i].Release()
		compareOutputs(t, model+" "+name, got, ref.Outputs[name].Data, 1e-5, 2e-4)
	}
}

func TestMobileNetV2MatchesTFJS(t *testing.T) { checkParity(t, "mobilenet_v2", 2) }

// InceptionV3 in tfjs's pure-JS backend takes about a minute per image on
// two shared cores, so this check runs only when asked for.
func TestInceptionV3MatchesTFJS(t *testing.T) {
	if os.Getenv("CATSYNTH_SLOW_TESTS") == "" {
		t.Skip("set CATSYNTH_SLOW_TESTS=1 to run (about a minute of tfjs in node)")
	}
	checkParity(t, "inception_v3", 1)
}
