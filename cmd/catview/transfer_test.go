package main

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/f32"
	"gioui.org/io/pointer"
)

// writeTargetFolder writes a two-class target set in the folder format:
// classes.txt, images/NAME.png and labels/NAME.png (gray class indices).
func writeTargetFolder(t *testing.T, withClasses bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"images", "labels"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if withClasses {
		if err := os.WriteFile(filepath.Join(dir, "classes.txt"), []byte("water\nsand\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, name := range []string{"a", "b"} {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		lab := image.NewGray(image.Rect(0, 0, 32, 32))
		for y := range 32 {
			for x := range 32 {
				if y < 12+4*k {
					img.Set(x, y, color.RGBA{30, 80, 200, 255})
				} else {
					img.Set(x, y, color.RGBA{220, 200, 120, 255})
					lab.SetGray(x, y, color.Gray{1})
				}
			}
		}
		writePNG(t, filepath.Join(dir, "images", name+".png"), img)
		writePNG(t, filepath.Join(dir, "labels", name+".png"), lab)
	}
	return dir
}

// TestTransferPanel runs the few-shot transfer through the buttons: a
// folder without classes.txt is refused by name; a good folder is read,
// A estimated from the class names, a heatmap click edits a row, A is
// finetuned with a loss per step, and the adapted model saves and opens.
func TestTransferPanel(t *testing.T) {
	h := newHarness(t, "embedded:tiny32")
	u := h.u
	bad := writeTargetFolder(t, false)
	u.path.SetText(bad)
	h.click("Target folder")
	h.waitFor("the refusal", func() bool { return strings.HasPrefix(u.status, "cannot") })
	if !strings.Contains(u.status, bad) || !strings.Contains(u.status, "classes.txt") {
		t.Errorf("status %q does not name the folder and classes.txt", u.status)
	}
	dir := writeTargetFolder(t, true)
	u.path.SetText(dir)
	h.click("Target folder")
	h.waitFor("the target set", func() bool { return len(u.tr.target.Pairs) > 0 || strings.HasPrefix(u.status, "cannot") })
	if len(u.tr.target.Pairs) != 2 || len(u.tr.target.Classes) != 2 || !u.showTransfer {
		t.Fatalf("target set %+v (status %s)", u.tr.target, u.status)
	}
	h.click("A: text")
	h.waitFor("the text estimate", func() bool { return u.tr.matrix != nil || strings.HasPrefix(u.status, "cannot") })
	if u.tr.matrix == nil || len(u.tr.matrix.W) != 2 {
		t.Fatalf("no 2-row matrix: %s", u.status)
	}
	t.Logf("estimate: %s", u.status)
	// Click the cell of target row 0, source column 5.
	hm := h.find(heatmapDesc)
	m := u.tr.matrix
	cell := float32(hm.Dx()) / float32(len(m.Source))
	if c := float32(hm.Dy()) / float32(len(m.Target)); c < cell {
		cell = c
	}
	at := f32.Pt(float32(hm.Min.X)+5.5*cell, float32(hm.Min.Y)+0.5*cell)
	h.mouse(pointer.Press, at)
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: at})
	h.waitFor("the edited row", func() bool { return u.tr.matrix.W[0][5] == 1 })
	u.tr.steps = 4
	h.frame()
	h.click("Finetune 4 steps")
	h.waitFor("the finetuning run", func() bool { return !u.tr.running && len(u.tr.losses) > 0 })
	t.Logf("finetune: %s", u.status)
	if len(u.tr.losses) != 4 || !u.info.Adapted || len(u.info.Classes) != 2 {
		t.Fatalf("%d losses, adapted %v, %d classes: %s", len(u.tr.losses), u.info.Adapted, len(u.info.Classes), u.status)
	}
	h.screenshot("catview-transfer.png")
	out := filepath.Join(t.TempDir(), "adapted.safetensors.zst")
	u.path.SetText(out)
	h.click("Save adapted")
	h.waitFor("the saved model", func() bool {
		return strings.Contains(u.status, "saved the adapted") || strings.HasPrefix(u.status, "cannot")
	})
	h.click("Open model")
	h.waitFor("the adapted model", func() bool { return u.modelRef == out || strings.HasPrefix(u.status, "cannot") })
	if !u.info.Adapted || u.info.Classes[1].Name != "sand" {
		t.Errorf("the saved adapted model opened as %+v (%s)", u.info, u.status)
	}
}
