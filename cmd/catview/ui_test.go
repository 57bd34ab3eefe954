package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gioui.org/f32"
	"gioui.org/gpu/headless"
	"gioui.org/io/input"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"catsynth/app"
	"catsynth/nn"
)

// harness runs the UI the way the window's event loop does: a frame is
// laid out with the router as its event source and handed to the router,
// and input is queued into the router as the platform code queues a real
// mouse's events. Frames are also rendered by Gio's headless GPU
// renderer when one is available, for screenshots.
type harness struct {
	t    *testing.T
	u    *UI
	r    *input.Router
	ops  op.Ops
	size image.Point
	hw   *headless.Window
}

func newHarness(t *testing.T, model string) *harness {
	t.Helper()
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	s := app.NewSession(dev, 0)
	h := &harness{t: t, r: new(input.Router), size: image.Pt(1100, 560)}
	h.u = newUI(s, backendLine(dev), func() {})
	t.Cleanup(func() {
		h.u.Close()
		s.Release()
		if h.hw != nil {
			h.hw.Release()
		}
	})
	if hw, err := headless.NewWindow(h.size.X, h.size.Y); err != nil {
		if os.Getenv("CATSYNTH_REQUIRE_GPU") == "1" {
			t.Fatalf("CATSYNTH_REQUIRE_GPU=1 but Gio's headless renderer does not start: %v", err)
		}
		t.Logf("no headless renderer (%v): checking the UI state only", err)
	} else {
		h.hw = hw
	}
	h.u.LoadModel(model)
	h.waitFor("the first preview", func() bool {
		if strings.HasPrefix(h.u.status, "cannot") {
			t.Fatal(h.u.status)
		}
		return h.u.previews > 0 && !h.u.rendering
	})
	return h
}

// frame lays out one frame at the time now.
func (h *harness) frame() {
	h.ops.Reset()
	gtx := layout.Context{Ops: &h.ops, Now: time.Now(), Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(h.size), Source: h.r.Source()}
	h.u.Layout(gtx)
	h.r.Frame(&h.ops)
}

// waitFor runs frames until cond holds (60 s at most).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		h.frame()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s (status: %s)", what, h.u.status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// find returns the window rectangle of the widget with this label or
// description.
func (h *harness) find(text string) image.Rectangle {
	h.t.Helper()
	for _, n := range h.r.AppendSemantics(nil) {
		if n.Desc.Label == text || n.Desc.Description == text {
			return n.Desc.Bounds
		}
	}
	h.t.Fatalf("no widget %q on screen", text)
	return image.Rectangle{}
}

// mouse queues a pointer event of the primary button at a window
// position. A drag is queued as the platform reports it, a move with the
// button held (the router makes it a Drag).
func (h *harness) mouse(kind pointer.Kind, p f32.Point) {
	if kind == pointer.Drag {
		kind = pointer.Move
	}
	h.r.Queue(pointer.Event{Kind: kind, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: p, Time: time.Duration(time.Now().UnixNano())})
	h.frame()
}

// click clicks the button or palette entry with this text, a few pixels
// into the text (a label's semantic bounds start at the text and run
// unclipped to the end of its constraints).
func (h *harness) click(text string) {
	r := h.find(text)
	c := f32.Pt(float32(r.Min.X)+6, float32(r.Min.Y)+6)
	h.mouse(pointer.Press, c)
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: c})
	h.frame()
}

// onScreen maps a map pixel centre to a window position on the canvas.
func (h *harness) onScreen(x, y float32) f32.Point {
	r := h.find(canvasDesc)
	v := h.u.view
	return f32.Pt(float32(r.Min.X)+v.origin.X+x*v.scale, float32(r.Min.Y)+v.origin.Y+y*v.scale)
}

// screenshot renders the current frame headlessly (nil without a renderer)
// and saves it as name in $CATVIEW_SCREENSHOTS when that is set.
func (h *harness) screenshot(name string) *image.RGBA {
	h.t.Helper()
	if h.hw == nil {
		return nil
	}
	h.frame()
	if err := h.hw.Frame(&h.ops); err != nil {
		h.t.Fatal(err)
	}
	img := image.NewRGBA(image.Rectangle{Max: h.size})
	if err := h.hw.Screenshot(img); err != nil {
		h.t.Fatal(err)
	}
	if dir := os.Getenv("CATVIEW_SCREENSHOTS"); dir != "" {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			h.t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			h.t.Fatal(err)
		}
	}
	return img
}

// TestPaintStrokeUpdatesPreview opens the app on the embedded default
// model, picks a class in the palette and paints a stroke with the mouse,
// and checks that the preview changes where the stroke is, far more than
// away from it.
func TestPaintStrokeUpdatesPreview(t *testing.T) {
	h := newHarness(t, "")
	u := h.u
	if !strings.Contains(u.Title(), "embedded:") || !strings.Contains(u.Title(), "backend cpu") {
		t.Errorf("title %q names neither the model nor the backend", u.Title())
	}
	W, H := u.cv.W, u.cv.H
	y0, y1 := H/2-H/10, H/2+H/10 // the stroke's band of rows
	// The class least present in the band, so that the stroke changes it.
	counts := make([]int, len(u.info.Classes))
	for y := y0; y < y1; y++ {
		for x := W / 8; x < W-W/8; x++ {
			if v := u.cv.Pix[y*W+x]; int(v) < len(counts) {
				counts[v]++
			}
		}
	}
	class := 0
	for i, n := range counts {
		if n < counts[class] {
			class = i
		}
	}
	h.click(u.info.Classes[class].Name)
	if u.class != class {
		t.Fatalf("clicking %q in the palette chose class %d", u.info.Classes[class].Name, u.class)
	}
	before := clone(u.preview)
	beforePix := append([]byte(nil), u.cv.Pix...)
	shotBefore := h.screenshot("catview-before.png")
	u.size.Value = min((float32(H)/10-0.5)/(maxRadius-0.5), 1) // a brush about a fifth of the height across
	shown := u.previews
	cy := float32(H) / 2
	h.mouse(pointer.Press, h.onScreen(float32(W)/8, cy))
	for i := 1; i <= 8; i++ {
		h.mouse(pointer.Drag, h.onScreen(float32(W)/8+float32(i)*float32(W)*0.75/8, cy))
	}
	h.mouse(pointer.Release, h.onScreen(float32(W)*7/8, cy))
	h.waitFor("the preview of the stroke", func() bool { return u.previews > shown && !u.rendering })
	painted := 0
	for x := W / 8; x < W*7/8; x++ {
		if u.cv.Pix[(H/2)*W+x] == byte(class) {
			painted++
		}
	}
	if painted < W*3/4-1 {
		t.Fatalf("the stroke painted %d of the %d pixels of its centre line", painted, W*3/4)
	}
	inBand := func(x, y int) bool { return y >= y0 && y < y1 && x >= W/8+2 && x < W*7/8-2 }
	far := func(x, y int) bool { return y < H/8 || y >= H*7/8 }
	in, out := meanDiff(before, u.preview, inBand), meanDiff(before, u.preview, far)
	t.Logf("class %q: mean change %.1f under the stroke, %.1f far from it (0-255 per channel)", u.info.Classes[class].Name, in, out)
	if in < 15 || in < 5*out {
		t.Errorf("the preview changed by %.1f under the stroke and %.1f far from it", in, out)
	}
	if shotBefore != nil {
		shotAfter := h.screenshot("catview-after.png")
		// The same band on screen, in the preview panel.
		pr := h.find(previewDesc)
		v := u.view
		onPreview := func(x, y int) bool {
			mx := int((float32(x-pr.Min.X) - v.origin.X) / v.scale)
			my := int((float32(y-pr.Min.Y) - v.origin.Y) / v.scale)
			return image.Pt(x, y).In(pr) && mx >= 0 && my >= 0 && mx < W && my < H && inBand(mx, my)
		}
		d := meanDiff(shotBefore, shotAfter, onPreview)
		t.Logf("on screen: mean change %.1f in the preview under the stroke", d)
		if d < 15 {
			t.Errorf("the preview on screen changed by only %.1f under the stroke", d)
		}
	}
	// Undo takes the whole stroke back.
	h.click("Undo")
	if string(u.cv.Pix) != string(beforePix) {
		t.Error("undo did not take the stroke back")
	}
}

// TestBadFilesKeepThePainting loads a file that is not a model and a
// label map of another vocabulary through the path field and the
// buttons: the status line names the file, the model and the painting
// stay.
func TestBadFilesKeepThePainting(t *testing.T) {
	h := newHarness(t, "embedded:tiny32")
	u := h.u
	u.cv.Line(2, 2, 20, 2, 2, 1)
	u.edited()
	painted := append([]byte(nil), u.cv.Pix...)
	name := u.info.Name
	dir := t.TempDir()
	notModel := filepath.Join(dir, "holiday.safetensors")
	if err := os.WriteFile(notModel, []byte("this is not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range gray.Pix {
		gray.Pix[i] = 200 // class 200: the tiny model has far fewer classes
	}
	otherVocab := filepath.Join(dir, "other_vocabulary.png")
	writePNG(t, otherVocab, gray)
	for i, tc := range []struct {
		button, file string
	}{
		{"Open model", notModel},
		{"Open labels", otherVocab},
		{"Open labels", filepath.Join(dir, "missing.png")},
		{"Open model", filepath.Join(dir, "missing.safetensors")},
	} {
		u.path.SetText(tc.file)
		h.click(tc.button)
		h.waitFor("the message about "+tc.file, func() bool { return strings.Contains(u.status, "cannot") })
		if !strings.Contains(u.status, tc.file) {
			t.Errorf("%s %s: status %q does not name the file", tc.button, tc.file, u.status)
		}
		t.Logf("%s: %s", tc.button, u.status)
		if u.info.Name != name || string(u.cv.Pix) != string(painted) {
			t.Errorf("%s %s: the model or the painting changed", tc.button, tc.file)
		}
		if i == 0 {
			h.screenshot("catview-bad-file.png")
		}
		u.status = ""
	}
	// A good label map still loads after the failures, and the load can be undone.
	good := image.NewGray(image.Rect(0, 0, 32, 32))
	writePNG(t, filepath.Join(dir, "good.png"), good)
	u.path.SetText(filepath.Join(dir, "good.png"))
	h.click("Open labels")
	h.waitFor("the good label map", func() bool { return strings.Contains(u.status, "opened") })
	if u.cv.Pix[0] != 0 || !u.cv.Undo() || string(u.cv.Pix) != string(painted) {
		t.Error("the good label map did not load, or undo did not bring the painting back")
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func clone(img *image.RGBA) *image.RGBA {
	c := *img
	c.Pix = append([]byte(nil), img.Pix...)
	return &c
}

// meanDiff is the mean absolute RGB difference of a and b over the
// pixels where in holds.
func meanDiff(a, b *image.RGBA, in func(x, y int) bool) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !in(x, y) {
				continue
			}
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := range 3 {
				d := int(a.Pix[i+c]) - int(b.Pix[j+c])
				sum += float64(max(d, -d))
			}
			n += 3
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// TestRegionStyleThroughTheUI picks the region-style tool and clicks the
// region at the top of the canvas: the preview changes inside that region
// far more than in the bottom rows, and "New style" then changes all of it.
func TestRegionStyleThroughTheUI(t *testing.T) {
	h := newHarness(t, "")
	u := h.u
	W, H := u.cv.W, u.cv.H
	before := clone(u.preview)
	h.click(toolNames[toolRestyle])
	if u.tool != toolRestyle {
		t.Fatalf("the region style button chose tool %d", u.tool)
	}
	region := u.cv.Region(W/2, 1)
	shown := u.previews
	h.mouse(pointer.Press, h.onScreen(float32(W)/2+0.5, 1.5))
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: h.onScreen(float32(W)/2+0.5, 1.5)})
	h.waitFor("the restyled preview", func() bool { return u.previews > shown && !u.rendering })
	if len(u.regionSeeds) != 1 {
		t.Fatalf("%d region styles after one click", len(u.regionSeeds))
	}
	in := meanDiff(before, u.preview, func(x, y int) bool { return region[y*W+x] })
	out := meanDiff(before, u.preview, func(x, y int) bool { return !region[y*W+x] && y >= H*7/8 })
	t.Logf("region style: mean change %.1f in the region, %.1f in the bottom rows", in, out)
	if in < 5 || in < 3*out {
		t.Errorf("a new style for the region changed it by %.1f and the bottom rows by %.1f", in, out)
	}
	h.screenshot("catview-region-style.png")
	restyled := clone(u.preview)
	shown = u.previews
	h.click("New style")
	h.waitFor("the new style", func() bool { return u.previews > shown && !u.rendering })
	if d := meanDiff(restyled, u.preview, func(x, y int) bool { return y >= H*7/8 }); d == 0 || u.regionSeeds != nil {
		t.Errorf("New style left the bottom rows as they were (change %.1f) or kept region styles", d)
	}
}
