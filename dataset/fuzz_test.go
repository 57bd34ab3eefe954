package dataset

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeLabel: any bytes either decode to a map whose every value is a
// class or Ignore, or give an error naming the file; never a panic.
func FuzzDecodeLabel(f *testing.F) {
	f.Add(pngBytes(f, grayLabel(3, 2, func(x, y int) uint8 { return uint8(x) })), uint8(4), false)
	f.Add(pngBytes(f, grayLabel(2, 2, func(x, y int) uint8 { return 255 })), uint8(2), false)
	f.Add(pngBytes(f, testImage(3, 3)), uint8(3), true)
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	f.Add(pngBytes(f, pal), uint8(2), true)
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	f.Add(pngBytes(f, g16), uint8(9), false)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), uint8(1), false)
	MaxPixels = 1 << 16 // keep each run fast; the limit itself is part of what is tested
	f.Fuzz(func(t *testing.T, data []byte, n uint8, colors bool) {
		nc := int(n%200) + 1
		format := LabelFormat{NumClasses: nc}
		if colors {
			format = ColorFormat(withColors(make([]string, nc)))
		}
		m, err := DecodeLabel(data, "fuzz.png", format)
		if err != nil {
			if fe, ok := err.(*FileError); !ok || fe.Path != "fuzz.png" {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(m.Pix) != m.W*m.H || m.W <= 0 {
			t.Fatalf("map %dx%d with %d values", m.W, m.H, len(m.Pix))
		}
		for _, v := range m.Pix {
			if v != Ignore && (v < 0 || int(v) >= nc) {
				t.Fatalf("value %d with %d classes", v, nc)
			}
		}
	})
}

// FuzzFolder: arbitrary classes file, image and label bytes in the folder
// layout give a dataset whose samples load with matching sizes, or errors;
// never a panic.
func FuzzFolder(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), pngBytes(f, testImage(3, 3)), pngBytes(f, grayLabel(3, 3, func(x, y int) uint8 { return uint8(x) })))
	f.Add([]byte("a #ff0000\nb #00ff00\n"), jpegBytes(f, testImage(4, 2)), pngBytes(f, testImage(4, 2)))
	f.Add([]byte(""), []byte("x"), []byte("y"))
	MaxPixels = 1 << 16
	f.Fuzz(func(t *testing.T, classes, img, lab []byte) {
		if len(img) > 1<<16 || len(lab) > 1<<16 {
			return
		}
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "images"), 0o755)
		os.MkdirAll(filepath.Join(dir, "labels"), 0o755)
		os.WriteFile(filepath.Join(dir, "classes.txt"), classes, 0o644)
		os.WriteFile(filepath.Join(dir, "images", "s.png"), img, 0o644)
		os.WriteFile(filepath.Join(dir, "labels", "s.png"), lab, 0o644)
		ds, err := OpenFolder(dir)
		if err != nil {
			return
		}
		s, err := ds.Load(0)
		if err != nil {
			return
		}
		if s.Image.Rect.Dx() != s.Label.W || s.Image.Rect.Dy() != s.Label.H {
			t.Fatalf("image %v, labels %dx%d", s.Image.Rect, s.Label.W, s.Label.H)
		}
		for _, v := range s.Label.Pix {
			if v != Ignore && (v < 0 || int(v) >= len(ds.Classes())) {
				t.Fatalf("label %d with %d classes", v, len(ds.Classes()))
			}
		}
	})
}
