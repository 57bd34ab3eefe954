package testscenes

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// DatasetLayouts are the dataset layouts WriteLayout can fake, as
// dataset.DetectLayout names them.
var DatasetLayouts = []string{"ade20k", "cityscapes", "cocostuff"}

// DatasetClasses are, per layout, the class count and the class indices
// of the upper and the lower part of WriteLayout's label maps.
var DatasetClasses = map[string][3]int{"ade20k": {150, 2, 0}, "cityscapes": {34, 23, 7}, "cocostuff": {182, 156, 0}}

// WriteLayout writes two size x size samples laid out as the named public
// dataset (see DatasetLayouts) under a new folder of dir and returns the
// folder: the image is blue above a sandy lower part whose height differs
// per sample; the label map holds two of the dataset's file values, the
// upper one and the lower one (ade20k: 3 over 1; cityscapes: label ids 23
// over 7; cocostuff: 156 over 0), which map to the classes DatasetClasses
// names.
func WriteLayout(t testing.TB, dir, layout string, size int) string {
	t.Helper()
	root := filepath.Join(dir, layout)
	vals := map[string][2]uint8{"ade20k": {3, 1}, "cityscapes": {23, 7}, "cocostuff": {156, 0}}[layout]
	for k := range 2 {
		img := image.NewRGBA(image.Rect(0, 0, size, size))
		lab := image.NewGray(img.Bounds())
		for y := range size {
			for x := range size {
				if y < size*(3+k)/8 {
					img.Set(x, y, color.RGBA{30, 80, 200, 255})
					lab.SetGray(x, y, color.Gray{vals[0]})
				} else {
					img.Set(x, y, color.RGBA{220, 200, 120, 255})
					lab.SetGray(x, y, color.Gray{vals[1]})
				}
			}
		}
		var imgPath, labPath string
		var imgData []byte
		switch layout {
		case "ade20k":
			n := "ADE_train_0000000" + string(rune('1'+k))
			imgPath, labPath = filepath.Join(root, "images", "training", n+".jpg"), filepath.Join(root, "annotations", "training", n+".png")
			imgData = encode(t, img, true)
		case "cityscapes":
			n := "aachen_00000" + string(rune('0'+k)) + "_000019"
			imgPath = filepath.Join(root, "leftImg8bit", "train", "aachen", n+"_leftImg8bit.png")
			labPath = filepath.Join(root, "gtFine", "train", "aachen", n+"_gtFine_labelIds.png")
			imgData = encode(t, img, false)
		case "cocostuff":
			n := "00000000000" + string(rune('1'+k))
			imgPath, labPath = filepath.Join(root, "images", "train2017", n+".jpg"), filepath.Join(root, "stuffthingmaps_trainval2017", "train2017", n+".png")
			imgData = encode(t, img, true)
		default:
			t.Fatalf("testscenes: no layout %q (have %v)", layout, DatasetLayouts)
		}
		write(t, imgPath, imgData)
		write(t, labPath, encode(t, lab, false))
	}
	return root
}

func encode(t testing.TB, img image.Image, asJPEG bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
