// Command catview is catsynth's desktop app: paint a label map and see
// the model's image beside it as you paint, on the embedded default
// model or any model file. It shares its session with the web page
// (package app); generation runs on a worker goroutine so the window
// never waits for the model.
//
//	catview [-model FILE|embedded:NAME] [-backend cpu|gpu|auto]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	gioapp "gioui.org/app"
	"gioui.org/op"
	"gioui.org/unit"

	"catsynth/app"
	_ "catsynth/models/all" // every model family the app can open
	"catsynth/nn"
)

func main() {
	model := flag.String("model", "", "model file (.safetensors[.zst], any family, adapted ones too) or embedded:NAME; default: the embedded default")
	backend := flag.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	flag.Parse()
	dev, err := nn.Open(*backend)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catview:", err)
		os.Exit(1)
	}
	go func() {
		if err := run(dev, *model); err != nil {
			log.Fatal(err)
		}
		os.Exit(0)
	}()
	gioapp.Main()
}

// backendLine names the backend and, when it fell back to the CPU, why.
func backendLine(dev *nn.Device) string {
	s := "backend " + dev.Name()
	if why := dev.FallbackReason(); why != "" {
		s += " (no GPU: " + why + ")"
	}
	return s
}

// run opens the window and runs its event loop until it closes.
func run(dev *nn.Device, model string) error {
	w := new(gioapp.Window)
	s := app.NewSession(dev, 0)
	u := newUI(s, backendLine(dev), w.Invalidate)
	defer func() {
		u.Close()
		s.Release()
	}()
	title := u.Title()
	w.Option(gioapp.Title(title), gioapp.Size(unit.Dp(1280), unit.Dp(720)))
	u.LoadModel(model)
	var ops op.Ops
	for {
		switch e := w.Event().(type) {
		case gioapp.DestroyEvent:
			return e.Err
		case gioapp.FrameEvent:
			gtx := gioapp.NewContext(&ops, e)
			u.Layout(gtx)
			e.Frame(gtx.Ops)
			if t := u.Title(); t != title {
				title = t
				w.Option(gioapp.Title(t))
			}
		}
	}
}
