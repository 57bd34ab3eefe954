package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/f32"
	"gioui.org/io/pointer"

	"catsynth/app"
	"catsynth/dataset/synth"
	"catsynth/internal/testscenes"
	"catsynth/internal/testsources"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/transfer"
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
	// The source classes name the columns, above the heatmap.
	for i, name := range m.Source {
		found := false
		for _, n := range h.r.AppendSemantics(nil) {
			b := n.Desc.Bounds
			found = found || (n.Desc.Label == name && b.Max.Y <= hm.Min.Y+1 && b.Min.X >= hm.Min.X-1 && b.Min.X < hm.Min.X+int(float32(i+1)*cell))
		}
		if !found {
			t.Errorf("no column name %q above the heatmap", name)
		}
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

// TestFullTransferWithoutSource asks for the full transfer of a model
// file without its training state: the status names the missing state
// file, and the window keeps the model.
func TestFullTransferWithoutSource(t *testing.T) {
	model := testsources.GAN(t, t.TempDir(), synth.SourceClasses, 32, 4)
	if err := os.Remove(transfer.StatePath(model)); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, model)
	u := h.u
	u.path.SetText(writeTargetFolder(t, true))
	h.click("Target folder")
	h.waitFor("the target set", func() bool { return len(u.tr.target.Pairs) > 0 || strings.HasPrefix(u.status, "cannot") })
	h.click("A: text")
	h.waitFor("the text estimate", func() bool { return u.tr.matrix != nil || strings.HasPrefix(u.status, "cannot") })
	h.click(modeLight)
	u.tr.steps = 4
	h.frame()
	h.click("Finetune 4 steps")
	h.waitFor("the refused full run", func() bool { return !u.tr.running && strings.HasPrefix(u.status, "full transfer failed") })
	if !strings.Contains(u.status, transfer.StatePath(model)) || u.tr.tuned || u.info.Adapted || len(u.info.Classes) != len(synth.SourceClasses) {
		t.Errorf("full run without a source: status %q, tuned %v, model %+v", u.status, u.tr.tuned, u.info)
	}
}

// TestFullTransferPanel runs the full transfer (generator and
// discriminator, package transfer) through the buttons on a tiny source
// GAN with its training state beside it: Stop ends the run after the
// current step with a checkpoint, the resumed run continues the step
// count to the goal, previews and the loss curve arrive, the window then
// paints with the adapted model, and Save adapted writes the model and
// its state, which open again.
func TestFullTransferPanel(t *testing.T) {
	const seed = 9
	t.Logf("source seed %d", seed)
	model := testsources.GAN(t, t.TempDir(), synth.SourceClasses, 32, seed)
	h := newHarness(t, model)
	u := h.u
	u.runDir = t.TempDir()
	u.path.SetText(writeTargetFolder(t, true))
	h.click("Target folder")
	h.waitFor("the target set", func() bool { return len(u.tr.target.Pairs) > 0 || strings.HasPrefix(u.status, "cannot") })
	h.click("A: text")
	h.waitFor("the text estimate", func() bool { return u.tr.matrix != nil || strings.HasPrefix(u.status, "cannot") })
	if u.tr.matrix == nil {
		t.Fatal(u.status)
	}
	h.click(modeLight)
	if !u.tr.full {
		t.Fatalf("the mode switch did not switch to the full transfer: %s", u.status)
	}
	const goal = 30
	u.tr.steps = goal
	h.frame()
	h.click(fmt.Sprintf("Finetune %d steps", goal))
	h.waitFor("two steps", func() bool {
		if strings.HasPrefix(u.status, "full transfer failed") {
			t.Fatal(u.status)
		}
		return u.tr.step.Step >= 2
	})
	h.click("Stop")
	h.waitFor("the stopped run", func() bool { return !u.tr.running })
	stoppedAt := u.tr.done
	t.Logf("stopped: %s", u.status)
	if stoppedAt < 2 || stoppedAt >= goal || !strings.Contains(u.status, "stopped") {
		t.Fatalf("stopped at step %d of %d: %s", stoppedAt, goal, u.status)
	}
	if _, err := os.Stat(transfer.StatePath(u.tr.modelPath)); err != nil {
		t.Fatalf("the stopped run wrote no state: %v", err)
	}
	if !u.tr.tuned || len(u.info.Classes) != 2 || u.info.Classes[0].Name != "water" {
		t.Fatalf("after the stop the window paints with %+v", u.info)
	}
	first := 0
	resume := fmt.Sprintf("Resume to step %d", goal)
	h.click(resume)
	h.waitFor("the resumed run", func() bool {
		if u.tr.running && first == 0 && u.tr.step.Step > stoppedAt {
			first = u.tr.step.Step
		}
		return !u.tr.running && u.tr.done == goal
	})
	t.Logf("resumed: %s", u.status)
	if first != stoppedAt+1 {
		t.Errorf("the resumed run's first step was %d, want %d", first, stoppedAt+1)
	}
	if len(u.tr.losses) != goal || u.tr.sample == nil {
		t.Errorf("%d losses on the curve (want %d), sample preview %v", len(u.tr.losses), goal, u.tr.sample != nil)
	}
	h.waitFor("the adapted model's image", func() bool { return u.previews > 0 && !u.rendering })
	h.screenshot("catview-transfer-full.png")
	out := filepath.Join(t.TempDir(), "full.safetensors.zst")
	u.path.SetText(out)
	h.click("Save adapted")
	h.waitFor("the saved model", func() bool {
		return strings.HasPrefix(u.status, "saved the adapted") || strings.HasPrefix(u.status, "cannot")
	})
	ck, err := nn.ReadCheckpoint(transfer.StatePath(out))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Metadata[models.MetaStep] != fmt.Sprint(goal) {
		t.Errorf("saved state at step %q, want %d", ck.Metadata[models.MetaStep], goal)
	}
	h.click("Open model")
	h.waitFor("the saved model opened", func() bool { return u.modelRef == out || strings.HasPrefix(u.status, "cannot") })
	if len(u.info.Classes) != 2 || u.info.Classes[1].Name != "sand" {
		t.Errorf("the saved model opened as %+v (%s)", u.info, u.status)
	}
}

// TestDatasetTargets types bare paths of tiny fakes of the public
// datasets' layouts (and one spec with its kind) into the path field and
// reads them with the Target folder button.
func TestDatasetTargets(t *testing.T) {
	h := newHarness(t, "embedded:tiny32")
	u := h.u
	dir := t.TempDir()
	cases := map[string]int{}
	for _, layout := range testscenes.DatasetLayouts {
		cases[testscenes.WriteLayout(t, dir, layout, 48)] = testscenes.DatasetClasses[layout][0]
	}
	cases["cityscapes:"+filepath.Join(dir, "cityscapes")+":train:trainids"] = 19
	for path, classes := range cases {
		u.tr.target = app.TargetInfo{}
		u.path.SetText(path)
		h.click("Target folder")
		h.waitFor("the target set", func() bool { return len(u.tr.target.Pairs) > 0 || strings.HasPrefix(u.status, "cannot") })
		if len(u.tr.target.Pairs) != 2 || len(u.tr.target.Classes) != classes {
			t.Errorf("%s: %d pairs of %d classes (want 2 of %d): %s", path, len(u.tr.target.Pairs), len(u.tr.target.Classes), classes, u.status)
		}
	}
}
