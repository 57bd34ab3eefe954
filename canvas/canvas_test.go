package canvas

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func count(c *Canvas, v byte) int { return bytes.Count(c.Pix, []byte{v}) }

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		x0, y0, x1, y1, radius float32
		want                   int // pixels painted
	}{
		{"dot", 5.5, 5.5, 5.5, 5.5, 0.4, 1},
		{"dot radius 1", 5.5, 5.5, 5.5, 5.5, 1, 5},              // the centre and its 4 neighbours
		{"horizontal", 2.5, 5.5, 9.5, 5.5, 0.4, 8},              // x = 2..9
		{"horizontal radius 1", 2.5, 5.5, 9.5, 5.5, 1, 8*3 + 2}, // three rows and the two end caps
		{"off canvas", -5, -5, -3, -3, 1, 0},
		{"clipped", -3.5, 0.5, 2.5, 0.5, 0.4, 3}, // x = 0..2
	} {
		c := New(16, 16, Unlabelled)
		c.Line(tc.x0, tc.y0, tc.x1, tc.y1, tc.radius, 3)
		if got := count(c, 3); got != tc.want {
			t.Errorf("%s: painted %d pixels, want %d", tc.name, got, tc.want)
		}
	}
}

// TestStrokeUndoRedo: a stroke of many segments undoes in one step, a
// fill in another; redo reapplies them; a new edit drops the redo steps.
func TestStrokeUndoRedo(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	c := New(32, 24, 0)
	blank := append([]byte(nil), c.Pix...)
	c.Begin()
	x, y := r.Float32()*32, r.Float32()*24
	for range 10 {
		nx, ny := r.Float32()*32, r.Float32()*24
		c.Line(x, y, nx, ny, 2, 1)
		x, y = nx, ny
	}
	c.End()
	stroked := append([]byte(nil), c.Pix...)
	if bytes.Equal(stroked, blank) {
		t.Fatal("the stroke painted nothing")
	}
	if !c.Fill(0, 0, 2) && c.Pix[0] != 1 {
		t.Fatal("fill changed nothing")
	}
	filled := append([]byte(nil), c.Pix...)
	if !c.Undo() || !bytes.Equal(c.Pix, stroked) {
		t.Fatal("undo did not restore the stroke")
	}
	if !c.Undo() || !bytes.Equal(c.Pix, blank) {
		t.Fatal("one undo did not remove the whole stroke")
	}
	if c.Undo() {
		t.Error("undo past the first edit")
	}
	if !c.Redo() || !bytes.Equal(c.Pix, stroked) || !c.Redo() || !bytes.Equal(c.Pix, filled) {
		t.Fatal("redo did not reapply the stroke and fill")
	}
	c.Undo()
	c.Line(1, 1, 1, 1, 0.4, 5)
	if c.CanRedo() {
		t.Error("a new edit kept the redo steps")
	}
	if err := c.Replace(make([]byte, 3)); err == nil {
		t.Error("Replace took a map of the wrong size")
	}
}

func TestFillAndRegion(t *testing.T) {
	c := New(8, 8, 0)
	c.Line(3.5, -1, 3.5, 9, 0.4, 1) // a wall at x = 3
	for _, tc := range []struct {
		name    string
		x, y    int
		v       byte
		changed bool
		want2   int // pixels of value 2 after
	}{
		{"left side", 0, 0, 2, true, 3 * 8},
		{"same value", 1, 1, 2, false, 3 * 8},
		{"outside", -1, 0, 2, false, 3 * 8},
		{"right side", 7, 7, 2, true, 7 * 8},
	} {
		if got := c.Fill(tc.x, tc.y, tc.v); got != tc.changed {
			t.Errorf("%s: changed %v, want %v", tc.name, got, tc.changed)
		}
		if got := count(c, 2); got != tc.want2 {
			t.Errorf("%s: %d pixels of 2, want %d", tc.name, got, tc.want2)
		}
	}
	reg := c.Region(3, 0)
	n := 0
	for _, in := range reg {
		if in {
			n++
		}
	}
	if n != 8 || c.Region(9, 0) != nil {
		t.Errorf("the wall's region has %d pixels, want 8", n)
	}
}
