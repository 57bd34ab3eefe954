package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Tiny fixtures laid out like the real datasets, made by the tests.

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testImage is a w x h RGB image with a gradient (so resizing is checkable).
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

// grayLabel is a w x h 8-bit label image whose pixel values come from f.
func grayLabel(w, h int, f func(x, y int) uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Pix[y*g.Stride+x] = f(x, y)
		}
	}
	return g
}

// randomLabel fills values drawn from vals.
func randomLabel(r *rand.Rand, w, h int, vals []uint8) *image.Gray {
	return grayLabel(w, h, func(x, y int) uint8 { return vals[r.IntN(len(vals))] })
}

// makeFolder writes a folder-format dataset with n samples of w x h and
// classes a, b, c; labels are stripes x%3 with a 255 (ignore) corner.
func makeFolder(t testing.TB, dir string, n, w, h int) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "classes.txt"), []byte("# test classes\na\nb\nc\n"))
	for i := 0; i < n; i++ {
		name := string(rune('a'+i)) + "img"
		lab := grayLabel(w, h, func(x, y int) uint8 {
			if x == 0 && y == 0 {
				return 255
			}
			return uint8(x % 3)
		})
		ext, data := ".png", pngBytes(t, testImage(w, h))
		if i%2 == 1 {
			ext, data = ".jpg", jpegBytes(t, testImage(w, h))
		}
		writeFile(t, filepath.Join(dir, "images", name+ext), data)
		writeFile(t, filepath.Join(dir, "labels", name+".png"), pngBytes(t, lab))
	}
}
