package main

import (
	"fmt"
	"image"
	"image/color"

	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	gpaint "gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// Layout handles the frame's input and draws the window: a toolbar, the
// palette, the canvas and the preview, and the status line.
func (u *UI) Layout(gtx layout.Context) layout.Dimensions {
	u.drain()
	u.keys(gtx)
	u.clicks(gtx)
	gpaint.Fill(gtx.Ops, color.NRGBA{250, 250, 250, 255})
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(u.layoutFileBar),
		layout.Rigid(u.layoutToolBar),
		layout.Rigid(u.layoutTransferBar),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(u.layoutPalette),
				layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
					return layout.UniformInset(unit.Dp(4)).Layout(gtx, u.layoutCanvas)
				}),
				layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
					if u.showTransfer {
						return layout.UniformInset(unit.Dp(4)).Layout(gtx, u.layoutTransfer)
					}
					return layout.UniformInset(unit.Dp(4)).Layout(gtx, u.layoutPreview)
				}),
			)
		}),
		layout.Rigid(u.layoutStatus),
	)
}

// keys handles the shortcuts.
func (u *UI) keys(gtx layout.Context) {
	filters := []key.Filter{
		{Name: "Z", Required: key.ModShortcut, Optional: key.ModShift},
		{Name: "Y", Required: key.ModShortcut},
		{Name: "O", Required: key.ModShortcut},
		{Name: "S", Required: key.ModShortcut},
		{Name: "B", Required: key.ModShortcut}, {Name: "L", Required: key.ModShortcut},
		{Name: "F", Required: key.ModShortcut}, {Name: "E", Required: key.ModShortcut},
		{Name: "R", Required: key.ModShortcut}, {Name: "N", Required: key.ModShortcut},
		{Name: "+", Required: key.ModShortcut}, {Name: "-", Required: key.ModShortcut},
		{Name: "0", Required: key.ModShortcut},
	}
	for {
		e, ok := gtx.Event(toEventFilters(filters)...)
		if !ok {
			return
		}
		k, ok := e.(key.Event)
		if !ok || k.State != key.Press {
			continue
		}
		u.shortcut(k)
	}
}

// shortcut applies one shortcut key (Ctrl, or Cmd on macOS, held).
func (u *UI) shortcut(k key.Event) {
	switch k.Name {
	case "Z":
		if k.Modifiers.Contain(key.ModShift) {
			u.doRedo()
		} else {
			u.doUndo()
		}
	case "Y":
		u.doRedo()
	case "O":
		u.OpenLabels(u.pathOr("labels.png"))
	case "S":
		u.SaveLabels(u.pathOr("labels.png"))
	case "B":
		u.tool = toolBrush
	case "L":
		u.tool = toolLine
	case "F":
		u.tool = toolFill
	case "E":
		u.tool = toolEraser
	case "R":
		u.tool = toolRestyle
	case "N":
		u.newStyleAll()
	case "+":
		u.view.zoom = min(u.view.zoom*1.25, 32)
	case "-":
		u.view.zoom = max(u.view.zoom/1.25, 0.25)
	case "0":
		u.view.zoom, u.view.pan = 1, u.view.pan.Mul(0)
	}
}

func (u *UI) doUndo() {
	if u.cv != nil && u.cv.Undo() {
		u.edited()
	}
}

func (u *UI) doRedo() {
	if u.cv != nil && u.cv.Redo() {
		u.edited()
	}
}

// clicks handles the buttons clicked since the last frame.
func (u *UI) clicks(gtx layout.Context) {
	if u.openModel.Clicked(gtx) {
		if p := u.pathOr(""); p == "" {
			u.setStatus("type the path of a model file (.safetensors or .safetensors.zst) in the path field first")
		} else {
			u.LoadModel(p)
		}
	}
	if u.defModel.Clicked(gtx) {
		u.LoadModel("")
	}
	if u.openLabels.Clicked(gtx) {
		u.OpenLabels(u.pathOr("labels.png"))
	}
	if u.saveLabels.Clicked(gtx) {
		u.SaveLabels(u.pathOr("labels.png"))
	}
	if u.exportImage.Clicked(gtx) {
		u.ExportImage(u.pathOr("image.png"))
	}
	if u.example.Clicked(gtx) {
		u.nextExample()
	}
	if u.newStyle.Clicked(gtx) {
		u.newStyleAll()
	}
	if u.undo.Clicked(gtx) {
		u.doUndo()
	}
	if u.redo.Clicked(gtx) {
		u.doRedo()
	}
	if u.cancel.Clicked(gtx) {
		u.cancelRender()
	}
	if u.resetView.Clicked(gtx) {
		u.view.zoom, u.view.pan = 1, u.view.pan.Mul(0)
	}
	if u.openTarget.Clicked(gtx) {
		if p := u.pathOr(""); p == "" {
			u.setStatus("type the path of a target set in the path field first: a folder (classes.txt, images/, labels/), an ADE20K, Cityscapes or COCO-Stuff folder, or a dataset spec")
		} else {
			u.OpenTarget(p)
		}
	}
	for i := range u.estimate {
		if u.estimate[i].Clicked(gtx) {
			u.EstimateA(estimateMethods[i])
		}
	}
	if u.finetune.Clicked(gtx) {
		u.Finetune()
	}
	if u.stopFinetune.Clicked(gtx) {
		u.StopFinetune()
	}
	if u.saveAdapt.Clicked(gtx) {
		u.SaveAdapted(u.pathOr("adapted.safetensors.zst"))
	}
	if u.modeSwitch.Clicked(gtx) && !u.tr.running && !u.tr.tuned {
		u.tr.full = !u.tr.full
		if u.tr.full {
			u.setStatus("full transfer: the generator and discriminator are finetuned from the model's training state (package transfer, as catsynth transfer)")
		} else {
			u.setStatus("light finetuning: A alone, the generator frozen (as the page)")
		}
	}
	if u.panelSwitch.Clicked(gtx) {
		u.showTransfer = !u.showTransfer
	}
	for i := range u.tools {
		if u.tools[i].Clicked(gtx) {
			u.tool = tool(i)
		}
	}
	for i := range u.palette {
		if u.palette[i].Clicked(gtx) {
			u.class = i
			if u.tool == toolEraser || u.tool == toolRestyle {
				u.tool = toolBrush
			}
		}
	}
}

func (u *UI) button(c *widget.Clickable, label string, on bool) layout.FlexChild {
	return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
		b := material.Button(u.th, c, label)
		b.Inset = layout.Inset{Top: 6, Bottom: 6, Left: 8, Right: 8}
		if !on {
			b.Background = color.NRGBA{110, 110, 120, 255}
		}
		return layout.Inset{Right: unit.Dp(4)}.Layout(gtx, b.Layout)
	})
}

func (u *UI) layoutFileBar(gtx layout.Context) layout.Dimensions {
	return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
				ed := material.Editor(u.th, &u.path, "path of a model, label map or export file")
				return widget.Border{Color: color.NRGBA{160, 160, 160, 255}, Width: 1}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return layout.UniformInset(unit.Dp(6)).Layout(gtx, ed.Layout)
				})
			}),
			layout.Rigid(layout.Spacer{Width: 4}.Layout),
			u.button(&u.openModel, "Open model", true),
			u.button(&u.defModel, "Default model", true),
			u.button(&u.openLabels, "Open labels", true),
			u.button(&u.saveLabels, "Save labels", true),
			u.button(&u.exportImage, "Export image", true),
		)
	})
}

func (u *UI) layoutToolBar(gtx layout.Context) layout.Dimensions {
	return layout.Inset{Left: 4, Right: 4, Bottom: 4}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		kids := []layout.FlexChild{}
		for i, n := range toolNames {
			kids = append(kids, u.button(&u.tools[i], n, u.tool == tool(i)))
		}
		kids = append(kids,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X, gtx.Constraints.Max.X = gtx.Dp(120), gtx.Dp(120)
				return material.Slider(u.th, &u.size).Layout(gtx)
			}),
			layout.Rigid(material.Body2(u.th, fmt.Sprintf(" size %.1f  ", 2*u.radius())).Layout),
			u.button(&u.undo, "Undo", u.cv != nil && u.cv.CanUndo()),
			u.button(&u.redo, "Redo", u.cv != nil && u.cv.CanRedo()),
			u.button(&u.example, "Example", true),
			u.button(&u.newStyle, "New style", true),
			u.button(&u.resetView, "Fit", true),
		)
		if u.rendering && u.renderStep.Steps > 1 {
			kids = append(kids, u.button(&u.cancel, "Cancel", true))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, kids...)
	})
}

func (u *UI) layoutPalette(gtx layout.Context) layout.Dimensions {
	gtx.Constraints.Min.X, gtx.Constraints.Max.X = gtx.Dp(150), gtx.Dp(150)
	return material.List(u.th, &u.paletteList).Layout(gtx, len(u.palette), func(gtx layout.Context, i int) layout.Dimensions {
		return u.palette[i].Layout(gtx, func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Top: 2, Bottom: 2, Left: 4}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						s := gtx.Dp(18)
						r := image.Rect(0, 0, s, s)
						if i == u.class {
							gpaint.FillShape(gtx.Ops, color.NRGBA{0, 0, 0, 255}, clip.Rect(r).Op())
							r = r.Inset(2)
						}
						gpaint.FillShape(gtx.Ops, u.colors[i], clip.Rect(r).Op())
						return layout.Dimensions{Size: image.Pt(s, s)}
					}),
					layout.Rigid(layout.Spacer{Width: 6}.Layout),
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						l := material.Body2(u.th, u.info.Classes[i].Name)
						if i == u.class {
							l.Font.Weight = 700
						}
						return l.Layout(gtx)
					}),
				)
			})
		})
	})
}

func (u *UI) layoutPreview(gtx layout.Context) layout.Dimensions {
	if u.info.Sampling != nil {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(u.layoutSampler),
			layout.Flexed(1, u.layoutImage))
	}
	return u.layoutImage(gtx)
}

// layoutImage draws the preview image.
func (u *UI) layoutImage(gtx layout.Context) layout.Dimensions {
	sz := gtx.Constraints.Max
	if u.cv != nil {
		// The preview shares the canvas's zoom and pan, so that a pixel
		// of the map and of the image are side by side.
		u.view.place(sz, u.cv.W, u.cv.H)
	}
	u.view.drawImage(gtx, u.preview, sz)
	area := clip.Rect{Max: sz}.Push(gtx.Ops)
	semantic.DescriptionOp(previewDesc).Add(gtx.Ops)
	area.Pop()
	return layout.Dimensions{Size: sz}
}

func (u *UI) layoutStatus(gtx layout.Context) layout.Dimensions {
	return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		state := "ready"
		switch {
		case u.rendering && u.renderStep.Steps > 1:
			state = fmt.Sprintf("generating, step %d of %d", u.renderStep.Step, u.renderStep.Steps)
		case u.rendering:
			state = "generating"
		case u.renderTook > 0:
			state = fmt.Sprintf("generated in %d ms", u.renderTook.Milliseconds())
		}
		unsaved := ""
		if u.unsaved {
			unsaved = " | painting not saved"
		}
		line := fmt.Sprintf("%s | %s | %s%s", u.backend, state, u.status, unsaved)
		return material.Body2(u.th, line).Layout(gtx)
	})
}

func toEventFilters(fs []key.Filter) []event.Filter {
	out := make([]event.Filter, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}
