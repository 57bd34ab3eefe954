package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	makeFolder(t, dir, 3, 12, 9)
	// files that must be skipped and reported
	writeFile(t, filepath.Join(dir, "images", "orphan.jpg"), jpegBytes(t, testImage(4, 4)))
	writeFile(t, filepath.Join(dir, "labels", "lonely.png"), pngBytes(t, grayLabel(4, 4, func(x, y int) uint8 { return 0 })))
	writeFile(t, filepath.Join(dir, "images", "notes.txt"), []byte("x"))
	ds, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || len(ds.Classes()) != 3 || ds.Classes()[2].Name != "c" {
		t.Fatalf("len %d classes %v", ds.Len(), ds.Classes())
	}
	sk := Skipped(ds)
	if len(sk) != 3 {
		t.Errorf("skipped %v, want 3 entries", sk)
	}
	if d := DescribeSkips(sk); !strings.Contains(d, "3 files skipped") {
		t.Errorf("DescribeSkips = %q", d)
	}
	for i := 0; i < ds.Len(); i++ {
		s, err := ds.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label.W != 12 || s.Label.H != 9 || s.Image.Rect.Dx() != 12 {
			t.Fatalf("sample %s: size %dx%d", s.Name, s.Label.W, s.Label.H)
		}
		if s.Label.At(0, 0) != Ignore || s.Label.At(4, 3) != 1 || s.Label.At(5, 3) != 2 {
			t.Errorf("sample %s: labels %d %d %d", s.Name, s.Label.At(0, 0), s.Label.At(4, 3), s.Label.At(5, 3))
		}
	}
}

// TestFolderRGBLabels decodes colour label maps through the classes file
// palette (black = ignore) and 16-bit labels.
func TestFolderRGBLabels(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "classes.txt"), []byte("sky #4682b4\ntraffic sign 220 220 0\n"))
	lab := image.NewNRGBA(image.Rect(0, 0, 5, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 5; x++ {
			c := color.NRGBA{0x46, 0x82, 0xb4, 255}
			if x >= 3 {
				c = color.NRGBA{220, 220, 0, 255}
			}
			if y == 3 {
				c = color.NRGBA{0, 0, 0, 255}
			}
			lab.Set(x, y, c)
		}
	}
	writeFile(t, filepath.Join(dir, "images", "p.png"), pngBytes(t, testImage(5, 4)))
	writeFile(t, filepath.Join(dir, "labels", "p.png"), pngBytes(t, lab))
	ds, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ds.Load(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int32{s.Label.At(0, 0), s.Label.At(4, 0), s.Label.At(2, 3)}; got[0] != 0 || got[1] != 1 || got[2] != Ignore {
		t.Errorf("labels %v, want [0 1 -1]", got)
	}
	if ds.Classes()[1].Name != "traffic sign" {
		t.Errorf("class name %q", ds.Classes()[1].Name)
	}
	// 16-bit label round trip through EncodeLabel with many classes
	m := &LabelMap{W: 3, H: 2, Pix: []int32{0, 299, Ignore, 7, 8, 9}}
	b, err := EncodeLabel(m, 300)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeLabel(b, "x.png", LabelFormat{NumClasses: 300})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Pix {
		if got.Pix[i] != m.Pix[i] {
			t.Fatalf("16-bit round trip: %v, want %v", got.Pix, m.Pix)
		}
	}
}

// TestBadInput: each bad input gives an error naming the file.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		load  bool   // the error comes from Load, not Open
		want  string // substring of the error
		file  string // the error must name this file (relative to dir)
		// between Open and Load (files that go away or turn unreadable)
		between func(dir string)
	}{
		{"missing classes file", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			os.Remove(filepath.Join(dir, "classes.txt"))
		}, false, "missing classes file", "classes.txt", nil},
		{"empty classes file", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "classes.txt"), []byte("# nothing\n"))
		}, false, "no classes", "classes.txt", nil},
		{"bad colour", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "classes.txt"), []byte("a #12345\nb #000000\n"))
		}, false, "not #RRGGBB", "classes.txt", nil},
		{"empty folder", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "classes.txt"), []byte("a\n"))
			os.MkdirAll(filepath.Join(dir, "images"), 0o755)
			os.MkdirAll(filepath.Join(dir, "labels"), 0o755)
		}, false, "no labelled images", "", nil},
		{"no images folder", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "classes.txt"), []byte("a\n"))
		}, false, "no such file", "images", nil},
		{"corrupt image", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "images", "aimg.png"), []byte("\x89PNG\r\n\x1a\ngarbage"))
		}, true, "not readable", "images/aimg.png", nil},
		{"corrupt label", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "labels", "aimg.png"), []byte("not a png"))
		}, true, "not a readable PNG", "labels/aimg.png", nil},
		{"image name is a folder", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			p := filepath.Join(dir, "images", "aimg.png")
			os.Remove(p)
			os.Mkdir(p, 0o755) // a folder where a file should be: listing skips it
		}, false, "no labelled images", "", nil},
		{"image gone after listing", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
		}, true, "no such file", "images/aimg.png", func(dir string) {
			os.Remove(filepath.Join(dir, "images", "aimg.png"))
		}},
		{"label turned into a folder", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
		}, true, "is a directory", "labels/aimg.png", func(dir string) {
			p := filepath.Join(dir, "labels", "aimg.png")
			os.Remove(p)
			os.Mkdir(p, 0o755)
		}},
		{"size mismatch", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "labels", "aimg.png"), pngBytes(t, grayLabel(5, 4, func(x, y int) uint8 { return 0 })))
		}, true, "label map is 5x4 but its image is 4x4", "labels/aimg.png", nil},
		{"label beyond classes", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "labels", "aimg.png"), pngBytes(t, grayLabel(4, 4, func(x, y int) uint8 { return uint8(x + y) })))
		}, true, "label 3 is not a class", "labels/aimg.png", nil},
		{"colour not in palette", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "classes.txt"), []byte("a #ff0000\nb #00ff00\n"))
			writeFile(t, filepath.Join(dir, "labels", "aimg.png"), pngBytes(t, testImage(4, 4)))
		}, true, "not in the class palette", "labels/aimg.png", nil},
		{"colour labels without palette", func(t *testing.T, dir string) {
			makeFolder(t, dir, 1, 4, 4)
			writeFile(t, filepath.Join(dir, "labels", "aimg.png"), pngBytes(t, testImage(4, 4)))
		}, true, "gives no colours", "labels/aimg.png", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			ds, err := OpenFolder(dir)
			if tc.load {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if tc.between != nil {
					tc.between(dir)
				}
				_, err = ds.Load(0)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if tc.file != "" && !strings.Contains(filepath.ToSlash(err.Error()), filepath.ToSlash(filepath.Join(dir, tc.file))) {
				t.Errorf("error %q does not name %s", err, tc.file)
			}
		})
	}
}

// TestRealLayouts reads tiny fixtures laid out like ADE20K, Cityscapes and
// COCO-Stuff and checks the value -> class mapping of each.
func TestRealLayouts(t *testing.T) {
	root := t.TempDir()
	seed := uint64(42)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	// ADE20K
	ade := filepath.Join(root, "ADEChallengeData2016")
	for _, sp := range []string{"training", "validation"} {
		for i := 1; i <= 2; i++ {
			n := "ADE_" + sp[:5] + "_0000000" + string(rune('0'+i))
			writeFile(t, filepath.Join(ade, "images", sp, n+".jpg"), jpegBytes(t, testImage(8, 6)))
			writeFile(t, filepath.Join(ade, "annotations", sp, n+".png"), pngBytes(t, randomLabel(r, 8, 6, []uint8{0, 1, 150, 3})))
		}
	}
	// Cityscapes
	cs := filepath.Join(root, "cityscapes")
	for _, city := range []string{"aachen", "bremen"} {
		base := city + "_000000_000019"
		writeFile(t, filepath.Join(cs, "leftImg8bit", "train", city, base+"_leftImg8bit.png"), pngBytes(t, testImage(8, 4)))
		writeFile(t, filepath.Join(cs, "gtFine", "train", city, base+"_gtFine_labelIds.png"), pngBytes(t, randomLabel(r, 8, 4, []uint8{0, 7, 26, 33, 255})))
		writeFile(t, filepath.Join(cs, "gtFine", "train", city, base+"_gtFine_color.png"), pngBytes(t, testImage(8, 4)))
	}
	// COCO-Stuff
	coco := filepath.Join(root, "cocostuff")
	for _, sp := range []string{"train2017", "val2017"} {
		writeFile(t, filepath.Join(coco, "images", sp, "000000000009.jpg"), jpegBytes(t, testImage(6, 6)))
		writeFile(t, filepath.Join(coco, "stuffthingmaps_trainval2017", sp, "000000000009.png"), pngBytes(t, randomLabel(r, 6, 6, []uint8{0, 181, 255, 156})))
	}
	cases := []struct {
		spec    string
		n       int
		classes int
		mapping map[uint8]int32 // file value -> class
	}{
		{"ade20k:" + ade, 2, 150, map[uint8]int32{0: Ignore, 1: 0, 150: 149, 3: 2}},
		{"ade20k:" + ade + ":validation", 2, 150, map[uint8]int32{0: Ignore, 1: 0, 150: 149, 3: 2}},
		{"cityscapes:" + cs, 2, 34, map[uint8]int32{0: 0, 7: 7, 26: 26, 33: 33, 255: Ignore}},
		{"cityscapes:" + cs + ":train:trainids", 2, 19, map[uint8]int32{0: Ignore, 7: 0, 26: 13, 33: 18, 255: Ignore}},
		{"cocostuff:" + coco, 1, 182, map[uint8]int32{0: 0, 181: 181, 255: Ignore, 156: 156}},
		{"cocostuff:" + coco + ":val", 1, 182, map[uint8]int32{0: 0, 181: 181, 255: Ignore, 156: 156}},
		// bare paths: the layout says which dataset it is
		{ade, 2, 150, map[uint8]int32{0: Ignore, 1: 0, 150: 149, 3: 2}},
		{cs, 2, 34, map[uint8]int32{0: 0, 7: 7, 26: 26, 33: 33, 255: Ignore}},
		{coco, 1, 182, map[uint8]int32{0: 0, 181: 181, 255: Ignore, 156: 156}},
	}
	for _, tc := range cases {
		ds, err := Open(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if ds.Len() != tc.n || len(ds.Classes()) != tc.classes {
			t.Fatalf("%s: %d samples, %d classes; want %d, %d", tc.spec, ds.Len(), len(ds.Classes()), tc.n, tc.classes)
		}
		for i := 0; i < ds.Len(); i++ {
			s, err := ds.Load(i)
			if err != nil {
				t.Fatalf("%s: %v", tc.spec, err)
			}
			// re-read the raw file values to check the mapping pixel by pixel
			p := ds.(*pairs).items[i].label
			raw, err := DecodeLabelFile(p, LabelFormat{NumClasses: 255, LUT: allLUT()})
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range raw.Pix {
				if want := tc.mapping[uint8(v)]; s.Label.Pix[j] != want {
					t.Fatalf("%s %s: file value %d -> %d, want %d", tc.spec, s.Name, v, s.Label.Pix[j], want)
				}
			}
		}
	}
	// an out-of-range value in a real layout is an error naming the file
	bad := filepath.Join(ade, "annotations", "training", "ADE_train_00000001.png")
	writeFile(t, bad, pngBytes(t, grayLabel(8, 6, func(x, y int) uint8 { return 151 })))
	ds, _ := OpenADE20K(ade, "")
	if _, err := ds.Load(0); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("ADE20K value 151: error %v", err)
	}
}

// allLUT maps every byte to itself (reads raw file values).
func allLUT() *[256]int32 {
	var l [256]int32
	for i := range l {
		l[i] = int32(i)
	}
	return &l
}

func TestSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"synth:street:n=5,seed=3,size=32", ""},
		{"synth:nowhere", "unknown domain"},
		{"synth:street:n=x", "wants a number"},
		{"synth:street:k=1", "unknown option"},
		{"cityscapes:/nonexistent:bogus", "unknown option"},
		{"zip:/x", "unknown kind"},
		{"/nonexistent/folder", "missing classes file"},
		{"ade20k:/nonexistent", "no such file"},
	} {
		ds, err := Open(tc.spec)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.spec, err)
			} else if ds.Len() != 5 {
				t.Errorf("%s: len %d", tc.spec, ds.Len())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	if p, o := splitOpts("/data/city.scapes:val:trainids"); p != "/data/city.scapes" || len(o) != 2 {
		t.Errorf("splitOpts: %q %v", p, o)
	}
}

func TestSubsets(t *testing.T) {
	ds, err := Open("synth:coast:n=50,size=16")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Limit(ds, 10, 7)
	b, _ := Limit(ds, 10, 7)
	c, _ := Limit(ds, 10, 8)
	same := true
	for i := 0; i < 10; i++ {
		if a.ItemName(i) != b.ItemName(i) {
			t.Fatal("same seed, different subsets")
		}
		same = same && a.ItemName(i) == c.ItemName(i)
	}
	if same {
		t.Error("different seeds gave the same subset")
	}
	path := filepath.Join(t.TempDir(), "names.txt")
	if err := WriteNames(path, a); err != nil {
		t.Fatal(err)
	}
	back, err := SubsetFile(ds, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if back.ItemName(i) != a.ItemName(i) {
			t.Fatalf("names file round trip: %s != %s", back.ItemName(i), a.ItemName(i))
		}
	}
	os.WriteFile(path, []byte("coast_000001\nnot_a_sample\n"), 0o644)
	if _, err := SubsetFile(ds, path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Limit(ds, 0, 1); err == nil {
		t.Error("limit 0 accepted")
	}
	var fe *FileError
	if _, err := SubsetFile(ds, path); !errors.As(err, &fe) || fe.Path != path {
		t.Errorf("error does not name the file: %v", err)
	}
}

// TestLowBitGrayLabels: 1-, 2- and 4-bit gray PNGs hold class indices too
// (image/png scales them to 0..255; the decoder undoes it).
func TestLowBitGrayLabels(t *testing.T) {
	for _, tc := range []struct {
		depth byte
		vals  []byte // packed rows: 4x1 pixels
		want  []int32
	}{
		{1, []byte{0b1010_0000}, []int32{1, 0, 1, 0}},
		{2, []byte{0b11_10_01_00}, []int32{3, 2, 1, 0}},
		{4, []byte{0x3a, 0x05}, []int32{3, 10, 0, 5}},
	} {
		data := grayPNG(t, 4, 1, tc.depth, tc.vals)
		m, err := DecodeLabel(data, "low.png", LabelFormat{NumClasses: 16})
		if err != nil {
			t.Fatalf("depth %d: %v", tc.depth, err)
		}
		if !slices.Equal(m.Pix, tc.want) {
			t.Errorf("depth %d: %v, want %v", tc.depth, m.Pix, tc.want)
		}
	}
}

// grayPNG assembles a grayscale PNG of the given bit depth by hand
// (image/png only writes 8- and 16-bit gray).
func grayPNG(t *testing.T, w, h int, depth byte, packed []byte) []byte {
	t.Helper()
	var raw bytes.Buffer
	rowLen := len(packed) / h
	for y := 0; y < h; y++ {
		raw.WriteByte(0) // filter: none
		raw.Write(packed[y*rowLen : (y+1)*rowLen])
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, body []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(body)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(body)
		out.WriteString(typ)
		out.Write(body)
		binary.Write(&out, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, 0
	chunk("IHDR", ihdr)
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}
