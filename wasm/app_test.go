//go:build !js

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"catsynth/app"
	"catsynth/dataset/synth"
	"catsynth/internal/browser"
	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/webapp"
	"catsynth/weights/backbones"
	"catsynth/weights/ganmodels"
	"catsynth/weights/glove"
	"catsynth/weights/segmenters"
)

// WebModelEnv names an embedded model for TestBrowserApp instead of the
// tiny one: CATSYNTH_WEB_MODEL=source64 measures the page's numbers with a
// default model (docs/WEB.md).
const WebModelEnv = "CATSYNTH_WEB_MODEL"

// testModel is the tiny model of the tests: weights/ganmodels' tiny32 when
// it is there and loads, else an untrained tiny generator of the synthetic
// source classes (gan.UntrainedModel, seed logged).
func testModel(t *testing.T) (name string, data []byte) {
	if n := os.Getenv(WebModelEnv); n != "" {
		b, err := ganmodels.Bytes(n)
		if err != nil {
			t.Fatalf("%s: %v", WebModelEnv, err)
		}
		return n, b
	}
	if b, err := ganmodels.Bytes("tiny32"); err == nil && len(b) > 0 {
		dev, _ := nn.Open("cpu")
		s := app.NewSession(dev, 0)
		_, err := s.LoadModel(b, "tiny32")
		s.Release()
		if err == nil {
			return "tiny32", b
		}
		t.Logf("embedded tiny32 does not load (%v); using an untrained model", err)
	} else {
		t.Logf("no usable embedded tiny32 (%v, %d bytes); using an untrained model", err, len(b))
	}
	const seed = 11
	t.Logf("untrained tiny model, seed %d", seed)
	b, err := gan.UntrainedModel("tiny", synth.SourceClasses, seed)
	if err != nil {
		t.Fatal(err)
	}
	return "tiny-untrained", b
}

func wasmExecPath(t *testing.T) string {
	out, err := execOutput(goTool(), "env", "GOROOT")
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return filepath.Join(strings.TrimSpace(out), "lib", "wasm", "wasm_exec.js")
}

// TestBrowserApp drives the web page (public/index.html) in headless
// Chromium, served by webapp.Handler as `catsynth serve` does: it paints
// through real pointer events and checks the generated canvas against a
// native CPU generation of the same map and seed; runs a short
// affinity-only transfer on synthetic files set on the page's file input;
// saves the adapted model; checks that no request leaves 127.0.0.1 and
// that nothing is requested after the assets loaded; checks the CPU
// fallback notice in a browser without WebGPU; and reloads the page with
// the server stopped (service worker and caches). Screenshots of each stage
// go to the test's artifact directory (go test -artifacts).
func TestBrowserApp(t *testing.T) {
	exe := browser.Need(t)
	wasmFile := buildWasm(t, ".")
	modelName, model := testModel(t)
	handler := webapp.Handler(webapp.ServerConfig{
		Dir:   "../public",
		Files: map[string]string{"/catsynth.wasm": wasmFile, "/wasm_exec.js": wasmExecPath(t)},
		Assets: []webapp.Asset{{Name: modelName + ".safetensors.zst", Kind: webapp.KindModel, Data: model},
			{Name: glove.File, Kind: app.KindGlove, Data: glove.Table},
			{Name: backbones.MobileNetV2File, Kind: app.KindBackbone, Data: backbones.MobileNetV2},
			{Name: segmenters.SourceFile, Kind: app.KindSegmenter, Data: segmenters.Source},
			// The test model has the source classes, so the shipped
			// prototypes of the source domain are its prototypes too.
			{Name: modelName + ganmodels.PrototypesExt, Kind: app.KindPrototypes, Data: sourcePrototypes(t)}},
	})
	srv, err := browser.Serve(handler)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	downloads := t.TempDir()
	netLog := filepath.Join(t.ArtifactDir(), "netlog.json")
	b, err := browser.Start(t.Context(), browser.Options{ExecPath: exe, Width: 1280, Height: 1100, DownloadDir: downloads, NetLog: netLog})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	shot := func(name string) {
		png, err := b.Screenshot(10 * time.Second)
		if err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return
		}
		p := filepath.Join(t.ArtifactDir(), name)
		os.WriteFile(p, png, 0o644)
		if dir := os.Getenv("CATSYNTH_SCREENSHOTS"); dir != "" && strings.HasPrefix(name, "web-") { // docs/img
			os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
	}
	fail := func(format string, args ...any) {
		t.Helper()
		shot("failure.png")
		t.Fatalf(format+"\nconsole:\n%s", append(args, b.ConsoleText())...)
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := browser.Eval[string](b, "String("+expr+")", 20*time.Second)
		if err != nil {
			fail("%v", err)
		}
		return v
	}

	// 1. Load: engine, backend, model, first image.
	start := time.Now()
	// backend=gpu: this run is about the WebGPU path (auto picks the CPU
	// on a software adapter such as SwiftShader; checked offline below).
	if err := b.Navigate(srv.URL+"/?backend=gpu", 30*time.Second); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "window.appState && (appState.ready || !!appState.bootError)", 120*time.Second); err != nil {
		fail("page never became ready: %v", err)
	}
	if e := eval("appState.bootError || ''"); e != "" {
		fail("page failed to start: %s", e)
	}
	firstImage := time.Since(start)
	backendName := strings.ToLower(eval("appState.backend"))
	wantSoftware := strings.Contains(backendName, "swiftshader") || strings.Contains(backendName, "fallback adapter") || backendName == "cpu"
	if sw := eval("appState.software"); sw != fmt.Sprint(wantSoftware) {
		t.Errorf("backend %q reported software=%s, want %v", backendName, sw, wantSoftware)
	}
	backendName, fallback := eval("appState.backend"), eval("appState.fallback")
	t.Logf("first image %v after navigation; backend %q, fallback %q, %s ms per image", firstImage.Round(time.Millisecond),
		backendName, fallback, eval("appState.lastGen.ms"))
	if browser.Required() && !strings.HasPrefix(backendName, "gpu") {
		fail("backend %q (fallback %q), want WebGPU in this browser", backendName, fallback)
	}
	if pill := eval(`document.getElementById("backend").textContent`); !strings.Contains(pill, "WebGPU") && fallback == "" {
		t.Errorf("backend pill %q does not name WebGPU", pill)
	}
	if _, err := browser.Wait[bool](b, "appState.assetsLoaded && appState.swReady", 30*time.Second); err != nil {
		fail("assets or service worker not ready: %v", err)
	}
	loaded := len(b.Requests())
	served := len(srv.Served())
	shot("web-start.png")

	// 2. Paint a stroke of class 5 with real pointer events, at a fixed seed.
	const class, seed = 5, 1234
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS(`#classes li[data-index="5"]`))); err != nil {
		fail("%v", err)
	}
	eval(fmt.Sprintf(`(() => { const s = document.getElementById("seed"); s.value = %d; s.dispatchEvent(new Event("change")); return 1; })()`, seed))
	var rect struct{ X, Y, W, H float64 }
	if err := json.Unmarshal([]byte(eval(`JSON.stringify((r => ({X: r.left, Y: r.top, W: r.width, H: r.height}))(document.getElementById("labels").getBoundingClientRect()))`)), &rect); err != nil {
		t.Fatal(err)
	}
	gens := eval("appState.genCount")
	left := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, rect.X+rect.W*0.2, rect.Y+rect.H*0.3, left, chromedp.ClickCount(1))}
	for i := 1; i <= 12; i++ {
		f := float64(i) / 12
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, rect.X+rect.W*(0.2+0.6*f), rect.Y+rect.H*(0.3+0.4*f), left))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, rect.X+rect.W*0.8, rect.Y+rect.H*0.7, left, chromedp.ClickCount(1)))
	if err := b.Do(20*time.Second, steps...); err != nil {
		fail("%v", err)
	}
	cond := fmt.Sprintf("appState.genCount > %s && !appState.busy && appState.lastGen.seed === %d && appState.lastGen.labels.filter(v => v === %d).length > 10", gens, seed, class)
	if _, err := browser.Wait[bool](b, cond, 30*time.Second); err != nil {
		fail("no image of the painted map: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // a debounced regeneration may still be due
	if _, err := browser.Wait[bool](b, "!appState.busy", 30*time.Second); err != nil {
		fail("%v", err)
	}
	var labels, pixels []byte
	var ints []int
	json.Unmarshal([]byte(eval("JSON.stringify(appState.lastGen.labels)")), &ints)
	for _, v := range ints {
		labels = append(labels, byte(v))
	}
	json.Unmarshal([]byte(eval(`JSON.stringify(Array.from(document.getElementById("image").getContext("2d").getImageData(0, 0, appState.lastGen.labels.length ** 0.5, appState.lastGen.labels.length ** 0.5).data))`)), &ints)
	for _, v := range ints {
		pixels = append(pixels, byte(v))
	}
	dev, _ := nn.Open("cpu")
	native := app.NewSession(dev, 0)
	defer native.Release()
	if _, err := native.LoadModel(model, modelName); err != nil {
		t.Fatal(err)
	}
	want, _, err := native.Generate(labels, seed)
	if err != nil {
		t.Fatal(err)
	}
	if len(pixels) != len(want.Pix) {
		fail("canvas has %d values, native image %d", len(pixels), len(want.Pix))
	}
	maxDiff, sum := 0, 0
	for i := range pixels {
		d := int(pixels[i]) - int(want.Pix[i])
		d = max(d, -d)
		maxDiff, sum = max(maxDiff, d), sum+d
	}
	mean := float64(sum) / float64(len(pixels))
	t.Logf("canvas vs native CPU generation (seed %d): max diff %d levels, mean %.3f", seed, maxDiff, mean)
	if maxDiff > 8 || mean > 1 {
		t.Errorf("canvas differs from the native generation: max %d levels (tolerance 8), mean %.3f (tolerance 1)", maxDiff, mean)
	}
	shot("web-paint.png")

	// 3. Few-shot transfer from files set on the page's file input.
	dir := t.TempDir()
	files := writeTargetFiles(t, dir)
	if err := b.Do(10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#targetFiles"), files)); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "appState.target && appState.target.pairs.length === 4", 20*time.Second); err != nil {
		fail("target set not taken: %v (%s)", err, eval("JSON.stringify(appState.target)"))
	}
	msgs := eval(`JSON.stringify(appState.target.messages.map(m => m.file))`)
	if !strings.Contains(msgs, "notes.txt") || !strings.Contains(msgs, "e_label.png") {
		t.Errorf("messages for the bad files: %s, want notes.txt and e_label.png", msgs)
	}
	// The combined estimate (text, vision and segmentation, all in the
	// page) must match the same estimate made natively on the CPU.
	estStart := time.Now()
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#estimate"))); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, `document.querySelectorAll("#heatmap tbody tr").length === 2 && document.getElementById("affMethod").textContent.startsWith("method:")`, 240*time.Second); err != nil {
		fail("no heatmap: %v (%s)", err, eval(`document.getElementById("affMethod").textContent`))
	}
	t.Logf("in-page combined estimate (text + vision + seg, 4 images): %v", time.Since(estStart).Round(time.Millisecond))
	var pageM app.MatrixInfo
	json.Unmarshal([]byte(eval(`JSON.stringify(appState.affinity)`)), &pageM)
	nativeM := nativeEstimate(t, files, modelName, model)
	if pageM.Method != "combined(mean: text, vision, seg)" || len(pageM.W) != len(nativeM.W) {
		fail("page estimate %q with %d rows, native %q with %d", pageM.Method, len(pageM.W), nativeM.Method, len(nativeM.W))
	}
	worst := 0.0
	for r := range nativeM.W {
		for c := range nativeM.W[r] {
			worst = max(worst, math.Abs(pageM.W[r][c]-nativeM.W[r][c]))
		}
	}
	t.Logf("page vs native combined estimate: worst entry difference %.4f", worst)
	if worst > 0.05 {
		t.Errorf("the page's combined estimate differs from the native one by %.4f (tolerance 0.05)", worst)
	}
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS(`#heatmap tbody tr`))); err != nil {
		fail("%v", err)
	}
	shot("web-affinity.png")
	eval(`(() => { document.getElementById("steps").value = 4; document.getElementById("batch").value = 1; document.getElementById("lr").value = 0.3; return 1; })()`)
	if est := eval(`document.getElementById("trainText").textContent`); !strings.Contains(est, "about") {
		t.Errorf("no time estimate before the finetune starts: %q", est)
	}
	ftStart := time.Now()
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#start"))); err != nil {
		fail("%v", err)
	}
	// A second Start while the run goes on does nothing (it hung the page).
	if on := eval(`(() => { const b = document.getElementById("start"); const was = b.disabled; b.click(); return String(was); })()`); on != "true" {
		t.Errorf("Start is still enabled during a finetune")
	}
	ftWait := 90 * time.Second
	if os.Getenv(WebModelEnv) != "" {
		ftWait = 10 * time.Minute // a default model on SwiftShader: seconds per step
	}
	if _, err := browser.Wait[bool](b, "appState.finetune && !appState.finetune.running", ftWait); err != nil {
		fail("finetune did not end: %v; progress: %s", err, eval(`document.getElementById("trainText").textContent`))
	}
	var ft struct {
		Losses                []float64
		MsPerStep             float64
		LossBefore, LossAfter float64
		Error                 string
	}
	json.Unmarshal([]byte(eval("JSON.stringify(appState.finetune)")), &ft)
	if ft.Error != "" || len(ft.Losses) != 4 {
		fail("finetune: %+v", ft)
	}
	if _, err := browser.Wait[bool](b, `appState.transferPanel === "idle" && !document.getElementById("start").disabled && !document.getElementById("saveModel").disabled`, 30*time.Second); err != nil {
		t.Errorf("after the finetune Start and Save stay disabled or the panel busy: %v", err)
	}
	t.Logf("in-page finetune: 4 steps of 1 image in %v, %.0f ms/step, losses %.4f, loss on the target set %.4f -> %.4f",
		time.Since(ftStart).Round(time.Millisecond), ft.MsPerStep, ft.Losses, ft.LossBefore, ft.LossAfter)
	if !(ft.LossAfter < ft.LossBefore) {
		t.Errorf("in-page finetune: the loss on the target set did not fall: %.4f -> %.4f", ft.LossBefore, ft.LossAfter)
	}
	if _, err := browser.Wait[bool](b, "appState.lastGen.adapted && !appState.busy", 30*time.Second); err != nil {
		fail("no image with the target classes: %v", err)
	}
	if pal := eval(`[...document.querySelectorAll("#classes li")].map(li => li.textContent).join(",")`); pal != "ocean,meadow" {
		t.Errorf("palette after the transfer: %q, want the target classes ocean,meadow", pal)
	}
	shot("web-transfer.png")

	// A lost device (as after a GPU reset) restarts the engine in a fresh
	// worker on a new device and restores the model, the target set, the
	// trained matrix and the target palette.
	methodBefore := eval("appState.affinity.method")
	gens = eval("appState.genCount")
	eval("(catsynthDebug.loseDevice(), 1)")
	if _, err := browser.Wait[bool](b, "appState.deviceLost.length === 1 && appState.genCount > "+gens+
		" && appState.lastGen.adapted && !appState.busy && appState.target && appState.target.pairs.length === 4", 60*time.Second); err != nil {
		fail("no recovery from a lost device: %v; lost %s, errors %s", err, eval("JSON.stringify(appState.deviceLost)"), eval("JSON.stringify(appState.errors)"))
	}
	if m := eval("appState.affinity.method"); m != methodBefore {
		t.Errorf("matrix after the device loss: method %q, want %q", m, methodBefore)
	}
	if pal := eval(`[...document.querySelectorAll("#classes li")].map(li => li.textContent).join(",")`); pal != "ocean,meadow" {
		t.Errorf("palette after the device loss: %q, want ocean,meadow", pal)
	}
	t.Logf("device loss (%s): recovered, notice %q", eval("appState.deviceLost[0]"), eval(`document.getElementById("noticeText").textContent`))
	shot("device-lost.png")
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#saveModel"))); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "appState.saved === 1", 20*time.Second); err != nil {
		fail("adapted model not saved: %v", err)
	}
	// The download is a model file the native session loads, in the
	// target classes.
	var saved []string
	for deadline := time.Now().Add(20 * time.Second); len(saved) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		saved, _ = filepath.Glob(filepath.Join(downloads, "*.safetensors.zst"))
	}
	if len(saved) != 1 {
		fail("downloaded adapted models: %v, want one", saved)
	}
	if data, err := os.ReadFile(saved[0]); err != nil {
		t.Error(err)
	} else {
		dev, _ := nn.Open("cpu")
		s := app.NewSession(dev, 0)
		if info, err := s.LoadModel(data, filepath.Base(saved[0])); err != nil || !info.Adapted {
			t.Errorf("downloaded model %s: %v (adapted %v)", filepath.Base(saved[0]), err, info.Adapted)
		}
		s.Release()
	}

	// The saved model loads back from IndexedDB, in the target classes.
	eval(`(() => { const s = document.getElementById("savedModels"); s.value = s.options[1].value; return 1; })()`)
	gens = eval("appState.genCount")
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#loadSaved"))); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "appState.genCount > "+gens+" && appState.lastGen.adapted && !appState.busy", 60*time.Second); err != nil {
		fail("adapted model from IndexedDB: %v; errors %s", err, eval("JSON.stringify(appState.errors)"))
	}
	if _, err := browser.Wait[bool](b, `document.querySelectorAll("#heatmap tbody tr").length === 2`, 10*time.Second); err != nil {
		fail("the loaded adapted model's matrix is not shown: %v", err)
	}
	// The model select names the adapted model, the heatmap shows its
	// weights as numbers, and the download name's date and time are apart.
	if sel := eval(`(() => { const s = document.getElementById("model"); return s.options[s.selectedIndex].text; })()`); !strings.Contains(sel, "opened file") {
		t.Errorf("after loading the adapted model the model select shows %q", sel)
	}
	if cells := eval(`[...document.querySelectorAll("#heatmap td")].filter((td) => td.textContent !== "").length`); cells == "0" {
		t.Error("the heatmap shows no numbers")
	}
	if base := filepath.Base(saved[0]); !regexp.MustCompile(`-\d{4}-\d{2}-\d{2}-\d{4}\.safetensors\.zst$`).MatchString(base) {
		t.Errorf("download name %q: want ...-YYYY-MM-DD-HHMM.safetensors.zst", base)
	}
	// Engine restart (the recovery from a lost device): a fresh device,
	// the same model, a new image.
	gens = eval("appState.genCount")
	eval(`(() => { document.getElementById("recover").hidden = false; document.getElementById("notice").hidden = false; return 1; })()`)
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#recover"))); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "appState.genCount > "+gens+" && !appState.busy", 60*time.Second); err != nil {
		fail("engine restart: %v", err)
	}
	// The old device is destroyed on purpose when the engine reopens;
	// that must not read as another loss.
	if n := eval("appState.deviceLost.length"); n != "1" {
		t.Errorf("after a deliberate restart the page counted %s device losses, want 1: %s", n, eval("JSON.stringify(appState.deviceLost)"))
	}

	// 4. Privacy: nothing left 127.0.0.1, nothing was fetched after load.
	for _, r := range b.Requests() {
		if !strings.HasPrefix(r.URL, srv.URL+"/") && !strings.HasPrefix(r.URL, "blob:"+srv.URL+"/") && !strings.HasPrefix(r.URL, "data:") {
			t.Errorf("request to %s (%s %s) is not to the local server %s", r.URL, r.Method, r.Type, srv.URL)
		}
	}
	for _, r := range b.Requests()[loaded:] {
		if !strings.HasPrefix(r.URL, "blob:") && !strings.HasPrefix(r.URL, "data:") {
			t.Errorf("request after the assets loaded: %s %s (%s)", r.Method, r.URL, r.Type)
		}
	}
	// The server sees the workers' requests too. The one allowed late
	// request is the browser's own service-worker update check (GET
	// /sw.js, no body).
	for _, p := range srv.Served()[served:] {
		if p != "/sw.js" {
			t.Errorf("the server answered a request for %s after the assets loaded", p)
		}
	}
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}

	// 5. Offline: the server is gone, the page still starts and generates.
	// (A short reopen timeout for the stuck-engine check below.)
	srv.Close()
	if err := b.Navigate(srv.URL+"/?reopenTimeoutMs=2000", 30*time.Second); err != nil {
		fail("offline reload: %v", err)
	}
	if _, err := browser.Wait[bool](b, "window.appState && (appState.ready || !!appState.bootError)", 120*time.Second); err != nil {
		fail("offline page never became ready: %v", err)
	}
	if e := eval("appState.bootError || ''"); e != "" {
		fail("offline start failed: %s", e)
	}
	shot("web-offline.png")
	// Without ?backend, auto prefers the page's CPU path over a software
	// adapter, and says why.
	if wantSoftware {
		if be, fb := eval("appState.backend"), eval("appState.fallback"); be != "cpu" || !strings.Contains(fb, "software") {
			t.Errorf("auto on a software adapter chose %q (fallback %q), want the CPU path with the reason", be, fb)
		}
	}

	// An engine that does not answer when reopened (a call stuck on a dead
	// device) is replaced by a fresh worker, whose scripts come from the
	// service worker's cache now that the server is gone.
	if _, err := browser.Wait[bool](b, "appState.genCount > 0 && !appState.busy", 60*time.Second); err != nil {
		fail("offline page never generated: %v", err)
	}
	gens = eval("appState.genCount")
	eval("catsynthDebug.hangNextOpen().then(() => 1)")
	eval(`(() => { document.getElementById("recover").hidden = false; document.getElementById("notice").hidden = false; return 1; })()`)
	if err := b.Do(10*time.Second, chromedp.Click(chromedp.CSS("#recover"))); err != nil {
		fail("%v", err)
	}
	if _, err := browser.Wait[bool](b, "appState.freshWorkers === 1 && appState.genCount > "+gens+" && !appState.busy", 60*time.Second); err != nil {
		fail("a stuck engine was not replaced by a fresh worker offline: %v; errors %s", err, eval("JSON.stringify(appState.errors)"))
	}
	if e := eval("appState.errors.length"); e != "0" {
		t.Errorf("errors after the fresh-worker restart: %s", eval("JSON.stringify(appState.errors)"))
	}

	// 6. Privacy in the browser's netlog, which also sees the workers' and
	// the browser's own requests: the page's all went to its origin with no
	// body, and the browser sent nothing beyond the documented list.
	b.Close()
	netReqs, err := browser.ReadNetLog(netLog)
	if err != nil {
		t.Fatal(err)
	}
	problems, own := browser.Audit(netReqs, srv.URL, browser.KnownBrowserRequests)
	for _, p := range problems {
		t.Errorf("netlog: %s", p)
	}
	fromPage := 0
	for _, r := range netReqs {
		if r.FromPage() {
			fromPage++
		}
	}
	if fromPage == 0 {
		t.Errorf("the netlog %s holds none of the page's requests (%d requests in all)", netLog, len(netReqs))
	}
	t.Logf("netlog: %d requests, %d started by the page, %d of the browser's own (known list): %s", len(netReqs), fromPage, len(own), hostsOf(own))

	// 7. A browser without WebGPU falls back to the CPU and says why.
	t.Run("diffusion", func(t *testing.T) { browserDiffusion(t, exe, wasmFile) })
	t.Run("cpu-fallback", func(t *testing.T) {
		srv2, err := browser.Serve(handler)
		if err != nil {
			t.Fatal(err)
		}
		defer srv2.Close()
		b2, err := browser.Start(t.Context(), browser.Options{ExecPath: exe, Width: 1280, Height: 900,
			Flags: map[string]any{"enable-unsafe-webgpu": false}})
		if err != nil {
			t.Fatal(err)
		}
		defer b2.Close()
		if err := b2.Navigate(srv2.URL+"/", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := browser.Wait[bool](b2, "window.appState && (appState.ready || !!appState.bootError)", 120*time.Second); err != nil {
			t.Fatalf("%v\n%s", err, b2.ConsoleText())
		}
		fb, _ := browser.Eval[string](b2, "appState.fallback + ' | ' + document.getElementById('backend').textContent + ' | ' + document.getElementById('noticeText').textContent", 10*time.Second)
		t.Logf("fallback: %s", fb)
		if !strings.Contains(fb, "CPU") || strings.HasPrefix(fb, " |") {
			t.Errorf("no CPU fallback notice with a reason: %q", fb)
		}
		if png, err := b2.Screenshot(10 * time.Second); err == nil {
			os.WriteFile(filepath.Join(t.ArtifactDir(), "web-fallback.png"), png, 0o644)
			if dir := os.Getenv("CATSYNTH_SCREENSHOTS"); dir != "" {
				os.WriteFile(filepath.Join(dir, "web-fallback.png"), png, 0o644)
			}
		}
	})
}

// writeTargetFiles writes four synthetic target pairs (blue "ocean" over
// green "meadow", 64x64), a classes.txt, and two bad files: a text file and
// a label map with a value beyond the two classes.
// sourcePrototypes are the stored prototypes of the source domain (those
// of the embedded source64 model).
func sourcePrototypes(t *testing.T) []byte {
	p, err := ganmodels.Prototypes("source64")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nativeEstimate makes the page's combined estimate on the CPU from the
// same files and assets.
func nativeEstimate(t *testing.T, paths []string, modelName string, model []byte) app.MatrixInfo {
	dev, _ := nn.Open("cpu")
	s := app.NewSession(dev, 0)
	defer s.Release()
	if _, err := s.LoadModel(model, modelName); err != nil {
		t.Fatal(err)
	}
	var files []app.File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, app.File{Name: filepath.Base(p), Data: data})
	}
	if _, err := s.AddTargetFiles(files); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		kind string
		data []byte
	}{{app.KindGlove, glove.Table}, {app.KindBackbone, backbones.MobileNetV2},
		{app.KindSegmenter, segmenters.Source}, {app.KindPrototypes, sourcePrototypes(t)}} {
		if err := s.LoadAsset(a.kind, a.data, a.kind); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Estimate(app.MethodCombined)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeTargetFiles(t *testing.T, dir string) []string {
	var out []string
	put := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		png.Encode(&b, img)
		return b.Bytes()
	}
	for i, split := range []int{16, 24, 32, 40, 28} {
		im := image.NewRGBA(image.Rect(0, 0, 64, 64))
		lab := image.NewGray(image.Rect(0, 0, 64, 64))
		for y := range 64 {
			for x := range 64 {
				if y < split+(x*i)%7 {
					im.Set(x, y, color.RGBA{uint8(20 + 4*i), 70, 190, 255})
				} else {
					im.Set(x, y, color.RGBA{50, uint8(150 + 5*i), 40, 255})
					lab.Pix[y*64+x] = 1
				}
			}
		}
		name := string(rune('a' + i))
		if i == 4 {
			lab.Pix[100] = 9 // beyond the classes
		}
		put(name+".png", enc(im))
		put(name+"_label.png", enc(lab))
	}
	put("classes.txt", []byte("ocean\nmeadow\n"))
	put("notes.txt", []byte("not data"))
	return out
}

// hostsOf lists the distinct host and path of requests, for a log line.
func hostsOf(reqs []browser.NetRequest) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range reqs {
		u, err := url.Parse(r.URL)
		if err != nil || seen[u.Host+u.Path] {
			continue
		}
		seen[u.Host+u.Path] = true
		out = append(out, u.Host+u.Path)
	}
	return strings.Join(out, ", ")
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

// browserDiffusion loads a tiny diffusion model in the page (CPU backend):
// the sampler settings appear, a change of steps takes effect, sampling
// draws a progressive preview, and the final image matches a native CPU
// sampling of the same map, seed and settings.
func browserDiffusion(t *testing.T, exe, wasmFile string) {
	model := testscenes.DiffusionModel(t, synth.SourceClasses, 16, 2)
	handler := webapp.Handler(webapp.ServerConfig{
		Dir:    "../public",
		Files:  map[string]string{"/catsynth.wasm": wasmFile, "/wasm_exec.js": wasmExecPath(t)},
		Assets: []webapp.Asset{{Name: "diffusion-tiny.safetensors.zst", Kind: webapp.KindModel, Data: model}},
	})
	srv, err := browser.Serve(handler)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b, err := browser.Start(t.Context(), browser.Options{ExecPath: exe, Width: 1280, Height: 900})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eval := func(expr string) string {
		t.Helper()
		v, err := browser.Eval[string](b, "String("+expr+")", 20*time.Second)
		if err != nil {
			t.Fatalf("%v\n%s", err, b.ConsoleText())
		}
		return v
	}
	if err := b.Navigate(srv.URL+"/?backend=cpu", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := browser.Wait[bool](b, "window.appState && (appState.ready || !!appState.bootError)", 120*time.Second); err != nil {
		t.Fatalf("page never became ready: %v\n%s", err, b.ConsoleText())
	}
	if e := eval("appState.bootError || ''"); e != "" {
		t.Fatalf("boot error: %s", e)
	}
	if hidden := eval(`document.getElementById("sampler").hidden`); hidden != "false" {
		t.Fatalf("no sampler settings shown for a diffusion model")
	}
	gens := eval("appState.genCount")
	eval(`(() => { const s = document.getElementById("sampleSteps"); s.value = 6; s.dispatchEvent(new Event("change")); return 1; })()`)
	if _, err := browser.Wait[bool](b, "appState.genCount > "+gens, 60*time.Second); err != nil {
		t.Fatalf("no image after changing the steps: %v\n%s", err, b.ConsoleText())
	}
	if p := eval(`document.getElementById("sampleProgress").textContent`); p != "6 steps" {
		t.Errorf("sampler status %q, want \"6 steps\"", p)
	}
	if n := eval("appState.samplePreviews || 0"); n == "0" {
		t.Error("no progressive preview was drawn")
	}
	// The page's image against a native sampling of the same map and seed.
	var labels []int
	json.Unmarshal([]byte(eval("JSON.stringify(appState.lastGen.labels)")), &labels)
	seed, _ := strconv.Atoi(eval("appState.lastGen.seed"))
	var page []int
	json.Unmarshal([]byte(eval(`JSON.stringify(Array.from(document.getElementById("image").getContext("2d").getImageData(0, 0, 16, 16).data))`)), &page)
	dev, _ := nn.Open("cpu")
	s := app.NewSession(dev, 0)
	defer s.Release()
	if _, err := s.LoadModel(model, "diffusion-tiny"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSampling(models.Sampling{Steps: 6, Guidance: 1.5}); err != nil {
		t.Fatal(err)
	}
	lb := make([]byte, len(labels))
	for i, v := range labels {
		lb[i] = byte(v)
	}
	want, _, err := s.Generate(lb, uint64(seed))
	if err != nil {
		t.Fatal(err)
	}
	worst := 0
	for i := range want.Pix {
		worst = max(worst, int(want.Pix[i])-page[i], page[i]-int(want.Pix[i]))
	}
	t.Logf("page vs native diffusion sample (seed %d, 6 steps): max difference %d levels", seed, worst)
	if worst > 2 {
		t.Errorf("the page's diffusion sample differs from the native one by %d levels", worst)
	}
}
