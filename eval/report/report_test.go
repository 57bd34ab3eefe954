package report

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/eval"
	"catsynth/eval/seg"
)

func ptr(v float64) *float64 { return &v }

// TestIoUChartBars: a bar's length is proportional to its IoU (measured in
// the bar colour along its row), and undefined values draw no bar.
func TestIoUChartBars(t *testing.T) {
	bars := []Bar{{"a", ptr(1), ptr(0.5)}, {"b", ptr(0.25), nil}, {"c", nil, nil}}
	img := IoUChart("t", bars)
	lengths := make([]int, len(bars))
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == colBar {
				n++
			}
		}
		if n > 20 { // skip the legend swatch
			for i := range lengths {
				if lengths[i] == 0 || lengths[i] == n {
					lengths[i] = n
					break
				}
			}
		}
	}
	if lengths[0] == 0 || lengths[1] == 0 || lengths[2] != 0 {
		t.Fatalf("bar lengths %v: want two bars", lengths)
	}
	if r := float64(lengths[1]) / float64(lengths[0]); r < 0.24 || r > 0.26 {
		t.Errorf("bar ratio %.3f, want 0.25", r)
	}
}

func TestSampleGridLayout(t *testing.T) {
	lab := dataset.NewLabelMap(4, 4)
	for i := range lab.Pix {
		lab.Pix[i] = 0
	}
	red := image.NewUniform(color.RGBA{255, 0, 0, 255})
	sq := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range sq.Pix {
		sq.Pix[i] = 255
	}
	rows := []SampleRow{{Name: "x", Label: lab, Real: sq, Generated: []image.Image{red, sq}}, {Name: "y"}}
	classes := []dataset.Class{{Name: "c", Color: color.RGBA{0, 255, 0, 255}}}
	g := SampleGrid(rows, classes, []string{"s1", "s2"}, 32)
	// 4 columns of 32 px with gaps and padding, two rows
	if g.Bounds().Dx() != 10+4*(32+6)-6+10 {
		t.Errorf("grid width %d", g.Bounds().Dx())
	}
	// the label cell shows the class colour, the second generated cell white
	// (the first is a uniform image: colour read at its centre)
	y := 10 + charH + 4 + 16
	if c := g.RGBAAt(10+16, y); c != classes[0].Color {
		t.Errorf("label cell %v", c)
	}
	if c := g.RGBAAt(10+2*(32+6)+16, y); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("generated cell %v", c)
	}
}

func TestWriteWithoutExtras(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r := &Results{Report: &eval.Report{FeatureNetwork: "net"}}
	files, err := Write(dir, r, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, ",") != "results.json,index.html" {
		t.Errorf("files %v", files)
	}
	cm := seg.NewConfusion(2)
	if err := cm.Add([]int32{0, 1}, []int32{0, 1}); err != nil {
		t.Fatal(err)
	}
	res := cm.Score()
	res.Classes = []string{"a", "<b>"}
	r.MIoU = NewMIoU(res)
	m := affinity.NewMatrix([]string{"x"}, []string{"y", "z"})
	m.W[0][1] = 1
	files, err = Write(dir, r, Page{Affinity: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("files %v", files)
	}
	html, _ := os.ReadFile(filepath.Join(dir, FileHTML))
	if !strings.Contains(string(html), "&lt;b&gt;") || !strings.Contains(string(html), "1.0000") {
		t.Errorf("class names must be escaped and IoU shown:\n%s", html)
	}
}
