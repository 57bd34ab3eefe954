package main

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gioui.org/f32"
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	gpaint "gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget/material"
)

// heatmapDesc describes the heatmap panel (screen readers, tests).
const heatmapDesc = "affinity heatmap"

// The heatmap's column names: the band they take above it, and the
// narrowest column that gets one.
const (
	headerDp    = 72
	minColumnDp = 12
)

func (u *UI) layoutTransferBar(gtx layout.Context) layout.Dimensions {
	return layout.Inset{Left: 4, Right: 4, Bottom: 4}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		panel := "Transfer panel"
		if u.showTransfer {
			panel = "Preview panel"
		}
		kids := []layout.FlexChild{
			u.button(&u.panelSwitch, panel, true),
			u.button(&u.openTarget, "Target folder", true),
		}
		for i, m := range estimateMethods {
			kids = append(kids, u.button(&u.estimate[i], "A: "+m, len(u.tr.target.Pairs) > 0 && !u.tr.tuned))
		}
		kids = append(kids,
			u.button(&u.modeSwitch, u.modeLabel(), !u.tr.running && !u.tr.tuned),
			u.button(&u.finetune, u.finetuneLabel(), u.tr.matrix != nil && !u.tr.running && (u.tr.full || !u.tr.tuned)),
			u.button(&u.stopFinetune, "Stop", u.tr.running),
			u.button(&u.saveAdapt, "Save adapted", u.tr.matrix != nil),
		)
		if u.tr.running {
			kids = append(kids, layout.Rigid(material.Body2(u.th, fmt.Sprintf(" step %d of %d, loss %.4f", u.tr.step.Step, u.tr.step.Steps, u.tr.step.Loss)).Layout))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, kids...)
	})
}

// Mode switch labels: the light run trains A alone (the page's), the full
// one the generator and discriminator (the CLI's transfer).
const (
	modeLight = "Mode: light (A only)"
	modeFull  = "Mode: full (G+D)"
)

func (u *UI) modeLabel() string {
	if u.tr.full {
		return modeFull
	}
	return modeLight
}

// finetuneLabel says what the Finetune button does next: resume a
// stopped full run to the step it was to reach, or run more steps.
func (u *UI) finetuneLabel() string {
	if u.tr.full && u.tr.run != nil && u.tr.done < u.tr.goal && !u.tr.running {
		return fmt.Sprintf("Resume to step %d", u.tr.goal)
	}
	return fmt.Sprintf("Finetune %d steps", u.tr.steps)
}

// layoutTransfer draws the heatmap of A (a click sets the row of the
// clicked target class to the clicked source class), the loss curve and
// the last finetuning sample.
func (u *UI) layoutTransfer(gtx layout.Context) layout.Dimensions {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Flexed(1, u.layoutHeatmap),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{}.Layout(gtx,
				layout.Flexed(1, u.layoutLoss),
				layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
					sz := gtx.Constraints.Max
					var v canvasView
					v.zoom = 1
					if u.tr.sample != nil {
						b := u.tr.sample.Bounds()
						v.place(sz, b.Dx(), b.Dy())
					}
					v.drawImage(gtx, u.tr.sample, sz)
					return layout.Dimensions{Size: sz}
				}),
			)
		}),
	)
}

func (u *UI) layoutHeatmap(gtx layout.Context) layout.Dimensions {
	sz := gtx.Constraints.Max
	m := u.tr.matrix
	if m == nil || u.tr.heat == nil {
		msg := "Few-shot transfer: type a target folder or dataset path, press Target folder, then estimate A."
		if len(u.tr.target.Pairs) > 0 {
			msg = fmt.Sprintf("%d target pairs of %d classes: estimate A.", len(u.tr.target.Pairs), len(u.tr.target.Classes))
		}
		return material.Body1(u.th, msg).Layout(gtx)
	}
	// Target names on the left, source names (turned upright) above, the
	// matrix below and to the right of them. The source names are left
	// out when the columns are too narrow to read them.
	labelW := gtx.Dp(90)
	headerH := gtx.Dp(headerDp)
	cell := min(float32(sz.X-labelW)/float32(len(m.Source)), float32(sz.Y-headerH)/float32(len(m.Target)))
	if cell < float32(gtx.Dp(minColumnDp)) {
		headerH = 0
		cell = min(float32(sz.X-labelW)/float32(len(m.Source)), float32(sz.Y)/float32(len(m.Target)))
	}
	tag := &u.tr
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: tag, Kinds: pointer.Press})
		if !ok {
			break
		}
		if e, ok := ev.(pointer.Event); ok && cell > 0 {
			u.EditRow(int(e.Position.Y/cell), int(e.Position.X/cell))
		}
	}
	for s, name := range m.Source {
		if headerH == 0 {
			break
		}
		// Lay the name out along x in a headerH x cell box, then turn it
		// a quarter anticlockwise onto its column.
		tr := f32.AffineId().Rotate(f32.Point{}, -math.Pi/2).Offset(f32.Pt(float32(labelW)+float32(s)*cell, float32(headerH)))
		st := op.Affine(tr).Push(gtx.Ops)
		g := gtx
		g.Constraints = layout.Exact(image.Pt(headerH, int(cell)))
		l := material.Caption(u.th, name)
		l.MaxLines = 1
		layout.W.Layout(g, l.Layout)
		st.Pop()
	}
	grid := op.Offset(image.Pt(0, headerH)).Push(gtx.Ops)
	defer grid.Pop()
	for t, name := range m.Target {
		st := op.Offset(image.Pt(0, int(float32(t)*cell))).Push(gtx.Ops)
		g := gtx
		g.Constraints = layout.Exact(image.Pt(labelW, int(cell)))
		l := material.Caption(u.th, name)
		l.MaxLines = 1
		l.Layout(g)
		st.Pop()
	}
	off := op.Offset(image.Pt(labelW, 0)).Push(gtx.Ops)
	area := image.Pt(int(cell*float32(len(m.Source))), int(cell*float32(len(m.Target))))
	cl := clip.Rect{Max: area}.Push(gtx.Ops)
	io := gpaint.NewImageOp(u.tr.heat)
	io.Filter = gpaint.FilterNearest
	io.Add(gtx.Ops)
	aff := op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(cell, cell))).Push(gtx.Ops)
	gpaint.PaintOp{}.Add(gtx.Ops)
	aff.Pop()
	semantic.DescriptionOp(heatmapDesc).Add(gtx.Ops)
	event.Op(gtx.Ops, tag)
	pointer.CursorPointer.Add(gtx.Ops)
	cl.Pop()
	off.Pop()
	return layout.Dimensions{Size: sz}
}

// layoutLoss draws the finetuning loss per step, scaled to its range.
func (u *UI) layoutLoss(gtx layout.Context) layout.Dimensions {
	sz := gtx.Constraints.Max
	gpaint.FillShape(gtx.Ops, color.NRGBA{240, 240, 244, 255}, clip.Rect{Max: sz}.Op())
	ls := u.tr.losses
	if len(ls) < 2 {
		return material.Caption(u.th, " loss curve").Layout(gtx)
	}
	lo, hi := ls[0], ls[0]
	for _, v := range ls {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi == lo {
		hi = lo + 1
	}
	var p clip.Path
	p.Begin(gtx.Ops)
	for i, v := range ls {
		pt := f32.Pt(float32(i)/float32(len(ls)-1)*float32(sz.X-8)+4, float32(1-(v-lo)/(hi-lo))*float32(sz.Y-24)+20)
		if i == 0 {
			p.MoveTo(pt)
		} else {
			p.LineTo(pt)
		}
	}
	gpaint.FillShape(gtx.Ops, color.NRGBA{200, 40, 40, 255}, clip.Stroke{Path: p.End(), Width: float32(gtx.Dp(unit.Dp(2)))}.Op())
	material.Caption(u.th, fmt.Sprintf(" loss %.4f -> %.4f (%d steps)", ls[0], ls[len(ls)-1], len(ls))).Layout(gtx)
	return layout.Dimensions{Size: sz}
}
