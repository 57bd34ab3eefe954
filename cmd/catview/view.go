package main

import (
	"image"
	"image/color"

	"gioui.org/f32"
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	gpaint "gioui.org/op/paint"

	"catsynth/canvas"
)

// Descriptions of the two image panels (for screen readers, and for
// tests that find them on screen).
const (
	canvasDesc  = "label map canvas"
	previewDesc = "generated image"
)

// canvasView places the label map (and the preview beside it, at the
// same scale) in its panel: fitted, then zoomed and panned by the user.
type canvasView struct {
	zoom float32
	pan  f32.Point

	// Geometry of the last frame, in the panel's pixels: where map pixel
	// (0, 0) is drawn and the size of a map pixel.
	origin f32.Point
	scale  float32

	// Pointer state.
	painting, panning bool
	last              f32.Point // map coordinates of the last pointer event
	lineStart         f32.Point
	panFrom           f32.Point
}

// place computes the geometry for a w x h map in a panel of size sz.
func (v *canvasView) place(sz image.Point, w, h int) {
	fit := min(float32(sz.X)/float32(w), float32(sz.Y)/float32(h))
	v.scale = fit * v.zoom
	v.origin = f32.Pt((float32(sz.X)-float32(w)*v.scale)/2+v.pan.X, (float32(sz.Y)-float32(h)*v.scale)/2+v.pan.Y)
}

// toMap turns a panel position into map coordinates.
func (v *canvasView) toMap(p f32.Point) f32.Point {
	return f32.Pt((p.X-v.origin.X)/v.scale, (p.Y-v.origin.Y)/v.scale)
}

// drawImage draws img with the view's geometry in a panel of size sz,
// nearest-neighbour, clipped to the panel.
func (v *canvasView) drawImage(gtx layout.Context, img image.Image, sz image.Point) {
	defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
	gpaint.FillShape(gtx.Ops, color.NRGBA{40, 40, 44, 255}, clip.Rect{Max: sz}.Op())
	if img == nil {
		return
	}
	io := gpaint.NewImageOp(img)
	io.Filter = gpaint.FilterNearest
	io.Add(gtx.Ops)
	defer op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(v.scale, v.scale)).Offset(v.origin)).Push(gtx.Ops).Pop()
	gpaint.PaintOp{}.Add(gtx.Ops)
}

// layoutCanvas handles the pointer on the canvas panel and draws it.
func (u *UI) layoutCanvas(gtx layout.Context) layout.Dimensions {
	sz := gtx.Constraints.Max
	if u.cv == nil {
		return layout.Dimensions{Size: sz}
	}
	v := &u.view
	v.place(sz, u.cv.W, u.cv.H)
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: v, Kinds: pointer.Press | pointer.Drag | pointer.Release | pointer.Cancel | pointer.Scroll,
			ScrollY: pointer.ScrollRange{Min: -1 << 20, Max: 1 << 20}})
		if !ok {
			break
		}
		if e, ok := ev.(pointer.Event); ok {
			u.pointer(e, sz)
		}
	}
	v.place(sz, u.cv.W, u.cv.H)
	if u.mapDirty || u.mapImg == nil {
		u.mapImg = u.labelImage()
		u.mapDirty = false
	}
	u.view.drawImage(gtx, u.mapImg, sz)
	area := clip.Rect{Max: sz}.Push(gtx.Ops)
	semantic.DescriptionOp(canvasDesc).Add(gtx.Ops)
	event.Op(gtx.Ops, v)
	pointer.CursorCrosshair.Add(gtx.Ops)
	area.Pop()
	return layout.Dimensions{Size: sz}
}

// pointer applies one pointer event on the canvas: the primary button
// paints with the current tool, the secondary or middle one pans, the
// wheel zooms.
func (u *UI) pointer(e pointer.Event, sz image.Point) {
	v := &u.view
	m := v.toMap(e.Position)
	switch e.Kind {
	case pointer.Scroll:
		f := float32(1.1)
		if e.Scroll.Y > 0 {
			f = 1 / f
		}
		u.zoomAt(e.Position, f, sz)
	case pointer.Press:
		if e.Buttons.Contain(pointer.ButtonSecondary) || e.Buttons.Contain(pointer.ButtonTertiary) {
			v.panning, v.panFrom = true, e.Position
			return
		}
		if !e.Buttons.Contain(pointer.ButtonPrimary) {
			return
		}
		switch u.tool {
		case toolBrush, toolEraser:
			v.painting, v.last = true, m
			u.cv.Begin()
			u.cv.Line(m.X, m.Y, m.X, m.Y, u.radius(), u.ink())
			u.edited()
		case toolLine:
			v.painting, v.lineStart = true, m
		case toolFill:
			if u.cv.Fill(int(m.X), int(m.Y), u.ink()) {
				u.edited()
			}
		case toolRestyle:
			u.restyleRegion(int(m.X), int(m.Y))
		}
	case pointer.Drag:
		if v.panning {
			v.pan = v.pan.Add(e.Position.Sub(v.panFrom))
			v.panFrom = e.Position
			return
		}
		if v.painting && (u.tool == toolBrush || u.tool == toolEraser) {
			u.cv.Line(v.last.X, v.last.Y, m.X, m.Y, u.radius(), u.ink())
			v.last = m
			u.edited()
		}
	case pointer.Release, pointer.Cancel:
		if v.painting && u.tool == toolLine && e.Kind == pointer.Release {
			u.cv.Line(v.lineStart.X, v.lineStart.Y, m.X, m.Y, u.radius(), u.ink())
			u.edited()
		}
		if v.painting {
			u.cv.End()
		}
		v.painting, v.panning = false, false
	}
}

// zoomAt zooms by f keeping the map point under p in place.
func (u *UI) zoomAt(p f32.Point, f float32, sz image.Point) {
	v := &u.view
	z := min(max(v.zoom*f, 0.25), 32)
	f = z / v.zoom
	// The point under p moves with the origin: keep origin - p scaled.
	c := f32.Pt(float32(sz.X)/2, float32(sz.Y)/2)
	v.pan = p.Sub(c).Add(v.pan.Sub(p.Sub(c)).Mul(f))
	v.zoom = z
}

// maxRadius is the largest brush radius in map pixels (the slider's end).
const maxRadius = 16

// radius is the brush radius in map pixels: the slider (0..1) from 0.5
// to maxRadius.
func (u *UI) radius() float32 { return 0.5 + u.size.Value*(maxRadius-0.5) }

// ink is the value the current tool paints.
func (u *UI) ink() byte {
	if u.tool == toolEraser {
		return canvas.Unlabelled
	}
	return byte(u.class)
}

// labelImage draws the label map in the palette's colours (unlabelled
// pixels dark gray).
func (u *UI) labelImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, u.cv.W, u.cv.H))
	for i, v := range u.cv.Pix {
		c := color.NRGBA{24, 24, 24, 255}
		if int(v) < len(u.colors) {
			c = u.colors[v]
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	return img
}
