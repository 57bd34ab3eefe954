package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gioui.org/font/gofont"
	"gioui.org/layout"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"catsynth/app"
	"catsynth/canvas"
	"catsynth/modelref"
	"catsynth/models"
)

// tool is what a press on the canvas does.
type tool int

const (
	toolBrush tool = iota
	toolLine
	toolFill
	toolEraser
	toolRestyle // a new style for the region under the pointer
)

var toolNames = [...]string{"Brush (B)", "Line (L)", "Fill (F)", "Eraser (E)", "Region style (R)"}

// UI is the app's state, used on the window's goroutine only; the
// worker's results come back through post.
type UI struct {
	th         *material.Theme
	w          *worker
	invalidate func()

	mu     sync.Mutex
	posted []func()

	backend string // the backend and, when it fell back, why

	// The model, as the worker last reported it.
	info       app.ModelInfo
	colors     []color.NRGBA
	examples   []app.Example
	exampleAt  int
	canRestyle bool

	cv       *canvas.Canvas
	mapImg   *image.RGBA
	mapDirty bool
	unsaved  bool

	tool  tool
	class int
	size  widget.Float // the brush radius slider, 0..1 (see radius)

	seed        uint64
	styles      []byte // per pixel: 0 base style, k RegionSeeds[k-1]
	regionSeeds []uint64

	preview    *image.RGBA
	previews   int  // previews shown so far (tests wait on it)
	rendering  bool // the latest request has not finished
	requested  int  // renders requested so far; the latest one's number
	renderStep app.Step
	renderTook time.Duration

	status string

	modelRef     string // the reference the model was opened by
	runDir       string // where full transfer runs write (see runFolder)
	ownRunDir    bool   // runDir was made by the app: removed on Close
	tr           transferState
	samp         samplerState // an iterative model's sampler settings
	showTransfer bool         // the right panel shows the transfer panel, not the preview

	view canvasView

	path                                          widget.Editor
	openModel, defModel, openLabels, saveLabels   widget.Clickable
	exportImage, example, newStyle, undo, redo    widget.Clickable
	cancel, resetView                             widget.Clickable
	openTarget, finetune, stopFinetune, saveAdapt widget.Clickable
	panelSwitch, modeSwitch                       widget.Clickable
	estimate                                      [4]widget.Clickable // one per estimateMethods entry
	tools                                         [len(toolNames)]widget.Clickable
	palette                                       []widget.Clickable
	paletteList                                   widget.List
}

// newUI makes the UI around a session on the worker. invalidate asks the
// window for a frame (it may be called from any goroutine).
func newUI(s *app.Session, backend string, invalidate func()) *UI {
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()))
	th.TextSize = unit.Sp(14)
	u := &UI{th: th, w: newWorker(s), invalidate: invalidate, backend: backend, seed: 1}
	u.size.Value = 0.15
	u.path.SingleLine = true
	u.path.Submit = true
	u.paletteList.Axis = layout.Vertical
	u.view.zoom = 1
	u.status = "loading the model..."
	u.tr.steps = 100
	return u
}

// Close stops the worker and removes the transfer runs' folder.
func (u *UI) Close() {
	u.StopFinetune()
	u.w.Close()
	if u.ownRunDir {
		os.RemoveAll(u.runDir)
	}
}

// post runs f on the UI goroutine at the next frame.
func (u *UI) post(f func()) {
	u.mu.Lock()
	u.posted = append(u.posted, f)
	u.mu.Unlock()
	u.invalidate()
}

// drain applies what the worker posted.
func (u *UI) drain() {
	u.mu.Lock()
	fs := u.posted
	u.posted = nil
	u.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Title is the window title: the model and the backend.
func (u *UI) Title() string {
	name := u.info.Name
	if name == "" {
		name = "no model"
	}
	return "catview - " + name + " - " + u.backend
}

// setStatus shows a message in the status line.
func (u *UI) setStatus(format string, args ...any) { u.status = fmt.Sprintf(format, args...) }

// readModelRef reads a model reference as the CLI takes it (package
// modelref: a file path, "embedded:NAME", or "" for the embedded
// default). It returns the bytes and a display name.
func readModelRef(ref string) ([]byte, string, error) {
	data, name, err := modelref.Bytes(ref)
	if _, embedded := modelref.EmbeddedName(ref); !embedded {
		name = filepath.Base(ref)
	}
	return data, name, err
}

// LoadModel loads a model reference on the worker. On failure the
// current model and painting stay as they are and the status names the
// file.
func (u *UI) LoadModel(ref string) {
	u.setStatus("opening %s ...", refName(ref))
	u.w.Do(func(s *app.Session) {
		data, name, err := readModelRef(ref)
		var info app.ModelInfo
		var ex []app.Example
		if err == nil {
			info, err = s.LoadModel(data, name)
		}
		if err == nil {
			ex, err = s.Examples(6)
		}
		restyle := s.CanRestyle()
		u.post(func() {
			if err != nil {
				u.setStatus("cannot open %s: %v", refName(ref), err)
				return
			}
			u.modelRef = ref
			u.tr = transferState{steps: u.tr.steps, full: u.tr.full, runs: u.tr.runs}
			u.modelLoaded(info, ex, restyle)
		})
	})
}

func refName(ref string) string {
	if ref == "" {
		return "the embedded default model"
	}
	return ref
}

// modelLoaded installs a model's palette and starts from its first
// example, or keeps the painting when it fits the new model.
func (u *UI) modelLoaded(info app.ModelInfo, ex []app.Example, restyle bool) {
	keep := u.cv != nil && u.cv.W == info.Width && u.cv.H == info.Height && len(u.info.Classes) == len(info.Classes)
	u.info, u.examples, u.canRestyle = info, ex, restyle
	u.colors = make([]color.NRGBA, len(info.Classes))
	for i, c := range info.Classes {
		u.colors[i] = parseHex(c.Color)
	}
	u.palette = make([]widget.Clickable, len(info.Classes))
	u.class = min(u.class, len(info.Classes)-1)
	if !keep {
		u.cv = canvas.New(info.Width, info.Height, canvas.Unlabelled)
		if len(ex) > 0 {
			u.cv.Replace(ex[0].Labels)
		}
		u.unsaved = false
	}
	u.clearStyles()
	u.mapDirty = true
	u.preview = nil
	u.setStatus("%s: %s, %d classes, %dx%d, %d parameters", info.Name, info.Kind, len(info.Classes), info.Width, info.Height, info.Params)
	if sm := info.Sampling; sm != nil {
		u.samp.set(*sm, info.SamplingLimits)
		u.status += fmt.Sprintf(", sampler %s, %d steps, guidance %g, eta %g", sm.Method, sm.Steps, sm.Guidance, sm.Eta)
	}
	u.requestRender()
}

func parseHex(s string) color.NRGBA {
	var r, g, b uint8
	fmt.Sscanf(strings.TrimPrefix(s, "#"), "%02x%02x%02x", &r, &g, &b)
	return color.NRGBA{r, g, b, 255}
}

func (u *UI) clearStyles() {
	u.styles, u.regionSeeds = nil, nil
}

// requestRender asks the worker for the preview of the painting as it is
// now; it supersedes the one pending.
func (u *UI) requestRender() {
	if u.cv == nil {
		return
	}
	r := app.Render{Labels: append([]byte(nil), u.cv.Pix...), Seed: u.seed}
	if u.styles != nil {
		r.Styles, r.RegionSeeds = append([]byte(nil), u.styles...), append([]uint64(nil), u.regionSeeds...)
	}
	u.rendering = true
	u.requested++
	id := u.requested
	u.w.Render(renderJob{r: r,
		onStep: func(st app.Step) {
			u.post(func() {
				u.renderStep = st
				if st.Preview != nil {
					u.showPreview(st.Preview)
				}
			})
		},
		onDone: func(img *image.RGBA, took time.Duration, err error) {
			u.post(func() {
				// An older render's image is still worth showing while
				// the latest one runs.
				if id == u.requested {
					u.rendering = false
					u.renderStep = app.Step{}
				}
				switch {
				case errors.Is(err, context.Canceled):
				case err != nil:
					u.setStatus("generating failed: %v", err)
				default:
					u.renderTook = took
					u.showPreview(img)
				}
			})
		}})
}

// cancelRender stops the running render (an iterative sampler stops at
// its next step) and keeps the last preview.
func (u *UI) cancelRender() {
	u.w.CancelRender()
	u.rendering = false
	u.renderStep = app.Step{}
	u.setStatus("generation cancelled")
}

func (u *UI) showPreview(img *image.RGBA) {
	u.preview = img
	u.previews++
}

// newStyleAll draws a new seed for the whole image.
func (u *UI) newStyleAll() {
	u.seed = rand.Uint64()
	u.clearStyles()
	u.setStatus("new style: seed %d", u.seed)
	u.requestRender()
}

// restyleRegion gives the painted region under map pixel (x, y) a new
// style, keeping the rest of the image's.
func (u *UI) restyleRegion(x, y int) {
	if !u.canRestyle {
		u.setStatus("%s cannot restyle one region (its noise is one vector per image): use New style", u.info.Name)
		return
	}
	reg := u.cv.Region(x, y)
	if reg == nil {
		return
	}
	if u.styles == nil || len(u.regionSeeds) >= 254 {
		u.styles, u.regionSeeds = make([]byte, len(u.cv.Pix)), nil
	}
	u.regionSeeds = append(u.regionSeeds, rand.Uint64())
	k := byte(len(u.regionSeeds))
	for i, in := range reg {
		if in {
			u.styles[i] = k
		}
	}
	u.setStatus("new style for the region at (%d, %d)", x, y)
	u.requestRender()
}

// edited is called after any change of the painting.
func (u *UI) edited() {
	u.mapDirty = true
	u.unsaved = true
	u.requestRender()
}

// nextExample replaces the painting with the next example (undoable).
func (u *UI) nextExample() {
	if len(u.examples) == 0 || u.cv == nil {
		return
	}
	u.exampleAt = (u.exampleAt + 1) % len(u.examples)
	ex := u.examples[u.exampleAt]
	if err := u.cv.Replace(ex.Labels); err != nil {
		u.setStatus("example %s: %v", ex.Name, err)
		return
	}
	u.setStatus("example %s (undo brings the painting back)", ex.Name)
	u.edited()
}

// OpenLabels reads a label PNG into the canvas (undoable); a bad file
// leaves the painting as it is.
func (u *UI) OpenLabels(path string) {
	u.w.Do(func(s *app.Session) {
		data, err := os.ReadFile(path)
		var pix []byte
		if err == nil {
			pix, err = s.DecodeLabelPNG(data, path)
		}
		u.post(func() {
			if err == nil && u.cv != nil {
				err = u.cv.Replace(pix)
			}
			if err != nil {
				u.setStatus("cannot open the label map %s: %v", path, err)
				return
			}
			u.setStatus("opened the label map %s", path)
			u.edited()
			u.unsaved = false
		})
	})
}

// SaveLabels writes the painting as a gray label PNG (atomically).
func (u *UI) SaveLabels(path string) {
	if u.cv == nil {
		return
	}
	pix := append([]byte(nil), u.cv.Pix...)
	u.w.Do(func(s *app.Session) {
		data, err := s.EncodeLabelPNG(pix)
		if err == nil {
			err = models.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err })
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot save the label map: %v", err)
				return
			}
			u.unsaved = false
			u.setStatus("saved the label map to %s", path)
		})
	})
}

// ExportImage writes the preview as a PNG (atomically).
func (u *UI) ExportImage(path string) {
	if u.preview == nil {
		u.setStatus("no image to export yet")
		return
	}
	img := u.preview
	go func() {
		var buf bytes.Buffer
		err := png.Encode(&buf, img)
		if err == nil {
			err = models.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot export the image: %v", err)
				return
			}
			u.setStatus("exported the image to %s", path)
		})
	}()
}

// pathOr is the path field, or def when it is empty.
func (u *UI) pathOr(def string) string {
	if p := strings.TrimSpace(u.path.Text()); p != "" {
		return p
	}
	return def
}
