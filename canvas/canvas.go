// Package canvas edits a label map the way a painting program does: round
// brush strokes, straight lines, flood fill and an eraser, with undo and
// redo by whole strokes. It knows nothing of models or windows, so the
// desktop app's canvas logic is tested without a display.
//
// A map holds one byte per pixel, row-major: a class index, or
// Unlabelled.
package canvas

import "fmt"

// Unlabelled is the value the eraser paints (no class).
const Unlabelled = 255

// MaxHistory bounds the undo steps kept.
const MaxHistory = 100

// Canvas is a W x H label map with its undo history. The zero value is
// not usable; make one with New.
type Canvas struct {
	W, H int
	Pix  []byte

	undo, redo [][]byte
	stroke     bool // a stroke is open: its start is on the undo stack
}

// New makes a w x h canvas filled with fill.
func New(w, h int, fill byte) *Canvas {
	c := &Canvas{W: w, H: h, Pix: make([]byte, w*h)}
	for i := range c.Pix {
		c.Pix[i] = fill
	}
	return c
}

// Begin opens a stroke: everything until End undoes as one step.
func (c *Canvas) Begin() {
	if c.stroke {
		return
	}
	c.push()
	c.stroke = true
}

// End closes the stroke Begin opened.
func (c *Canvas) End() { c.stroke = false }

// push saves the map before an edit and forgets the redo steps.
func (c *Canvas) push() {
	c.undo = append(c.undo, append([]byte(nil), c.Pix...))
	if len(c.undo) > MaxHistory {
		c.undo = c.undo[1:]
	}
	c.redo = nil
}

// edit runs f as its own undo step unless a stroke is open.
func (c *Canvas) edit(f func()) {
	if !c.stroke {
		c.push()
	}
	f()
}

// Undo restores the map before the last step; false when there is none.
func (c *Canvas) Undo() bool {
	if len(c.undo) == 0 {
		return false
	}
	c.stroke = false
	c.redo = append(c.redo, c.Pix)
	c.Pix = c.undo[len(c.undo)-1]
	c.undo = c.undo[:len(c.undo)-1]
	return true
}

// Redo reapplies the last undone step; false when there is none.
func (c *Canvas) Redo() bool {
	if len(c.redo) == 0 {
		return false
	}
	c.undo = append(c.undo, c.Pix)
	c.Pix = c.redo[len(c.redo)-1]
	c.redo = c.redo[:len(c.redo)-1]
	return true
}

// Replace sets the whole map (a loaded file, an example) as one undo step.
func (c *Canvas) Replace(pix []byte) error {
	if len(pix) != c.W*c.H {
		return fmt.Errorf("canvas: a map of %d pixels for a %dx%d canvas", len(pix), c.W, c.H)
	}
	c.edit(func() { copy(c.Pix, pix) })
	return nil
}

// Line paints a segment from (x0, y0) to (x1, y1) (pixel coordinates,
// pixel centres at +0.5) with a round brush of the given radius: every
// pixel whose centre lies within radius of the segment, and at least the
// pixel under each end. A brush stroke is a chain of Lines between
// pointer positions inside Begin/End.
func (c *Canvas) Line(x0, y0, x1, y1, radius float32, v byte) {
	c.edit(func() {
		minX, maxX := int(min(x0, x1)-radius-1), int(max(x0, x1)+radius+1)
		minY, maxY := int(min(y0, y1)-radius-1), int(max(y0, y1)+radius+1)
		dx, dy := x1-x0, y1-y0
		l2 := dx*dx + dy*dy
		r2 := radius * radius
		for y := max(minY, 0); y <= min(maxY, c.H-1); y++ {
			for x := max(minX, 0); x <= min(maxX, c.W-1); x++ {
				px, py := float32(x)+0.5, float32(y)+0.5
				t := float32(0)
				if l2 > 0 {
					t = min(max(((px-x0)*dx+(py-y0)*dy)/l2, 0), 1)
				}
				ex, ey := px-(x0+t*dx), py-(y0+t*dy)
				if ex*ex+ey*ey <= r2 {
					c.Pix[y*c.W+x] = v
				}
			}
		}
		c.dot(x0, y0, v)
		c.dot(x1, y1, v)
	})
}

func (c *Canvas) dot(x, y float32, v byte) {
	if xi, yi := int(x), int(y); x >= 0 && y >= 0 && xi < c.W && yi < c.H {
		c.Pix[yi*c.W+xi] = v
	}
}

// Fill replaces the 4-connected region of equal values under (x, y) by
// v. It reports whether anything changed (false outside the canvas or
// when the region already has v; no undo step is made then).
func (c *Canvas) Fill(x, y int, v byte) bool {
	if x < 0 || y < 0 || x >= c.W || y >= c.H || c.Pix[y*c.W+x] == v {
		return false
	}
	region := c.Region(x, y)
	c.edit(func() {
		for i, in := range region {
			if in {
				c.Pix[i] = v
			}
		}
	})
	return true
}

// Region marks the 4-connected pixels of the value under (x, y) (nil
// outside the canvas): a painted region, as fill and "new style for this
// region" see it.
func (c *Canvas) Region(x, y int) []bool {
	if x < 0 || y < 0 || x >= c.W || y >= c.H {
		return nil
	}
	want := c.Pix[y*c.W+x]
	in := make([]bool, len(c.Pix))
	stack := []int{y*c.W + x}
	in[y*c.W+x] = true
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		px, py := p%c.W, p/c.W
		for _, q := range [4][2]int{{px - 1, py}, {px + 1, py}, {px, py - 1}, {px, py + 1}} {
			if q[0] < 0 || q[1] < 0 || q[0] >= c.W || q[1] >= c.H {
				continue
			}
			i := q[1]*c.W + q[0]
			if !in[i] && c.Pix[i] == want {
				in[i] = true
				stack = append(stack, i)
			}
		}
	}
	return in
}

// CanUndo and CanRedo report whether Undo and Redo have a step.
func (c *Canvas) CanUndo() bool { return len(c.undo) > 0 }
func (c *Canvas) CanRedo() bool { return len(c.redo) > 0 }
