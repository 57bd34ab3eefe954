package app

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"catsynth/dataset"
	"catsynth/nn/backend"
	"catsynth/nn/cpu"

	"catsynth/models"

	"catsynth/dataset/synth"
	"catsynth/models/gan"
	"catsynth/nn"
)

// newSession opens a CPU session with an untrained tiny model of the
// synthetic source classes.
func newSession(t *testing.T, limit int64) (*Session, []byte) {
	t.Helper()
	const seed = 3
	t.Logf("model seed %d", seed)
	model, err := gan.UntrainedModel("tiny", synth.SourceClasses, seed)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(dev, limit)
	t.Cleanup(s.Release)
	if _, err := s.LoadModel(model, "tiny.safetensors"); err != nil {
		t.Fatal(err)
	}
	return s, model
}

func TestGenerate(t *testing.T) {
	s, _ := newSession(t, DefaultBindingLimit)
	info := s.Info()
	if info.Width != 32 || len(info.Classes) != len(synth.SourceClasses) || info.Classes[0].Color == "" {
		t.Fatalf("info %+v", info)
	}
	ex, err := s.Examples(3)
	if err != nil || len(ex) != 3 {
		t.Fatalf("examples: %v (%d)", err, len(ex))
	}
	a, _, err := s.Generate(ex[0].Labels, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := s.Generate(ex[0].Labels, 5)
	c, _, _ := s.Generate(ex[0].Labels, 6)
	d, _, _ := s.Generate(ex[1].Labels, 5)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("same map and seed gave different images")
	}
	if bytes.Equal(a.Pix, c.Pix) || bytes.Equal(a.Pix, d.Pix) {
		t.Error("another seed or map gave the same image")
	}
	for _, tc := range []struct {
		name   string
		labels []byte
		want   string
	}{
		{"short", make([]byte, 10), "has 10 pixels"},
		{"class", bytes.Repeat([]byte{200}, 32*32), "has class 200"},
	} {
		if _, _, err := s.Generate(tc.labels, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Label PNGs round-trip.
	p, err := s.EncodeLabelPNG(ex[0].Labels)
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.DecodeLabelPNG(p, "x.png")
	if err != nil || !bytes.Equal(back, ex[0].Labels) {
		t.Errorf("label PNG round trip: %v", err)
	}
}

func TestLoadModelErrors(t *testing.T) {
	s, model := newSession(t, 0)
	for _, tc := range []struct {
		name  string
		data  []byte
		limit int64
		want  string
	}{
		{"empty", nil, 0, "is empty"},
		{"garbage", []byte("not a model at all, really"), 0, "m.bin"},
		{"limit", model, 4096, "maxStorageBufferBindingSize"},
	} {
		s.limit = tc.limit
		_, err := s.LoadModel(tc.data, "m.bin")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	s.limit = 0
	if s.Info().Width != 32 {
		t.Error("a failed load disturbed the loaded model")
	}
}

func pngOf(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// targetPair draws a synthetic target image: class 0 ("ocean", blue) in
// the top rows, class 1 ("meadow", green) below.
func targetPair(t *testing.T, w, h, split int) (img, lab []byte) {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if y < split {
				im.Set(x, y, color.RGBA{30, 60, 200, 255})
			} else {
				im.Set(x, y, color.RGBA{40, 170, 50, 255})
				g.Pix[y*w+x] = 1
			}
		}
	}
	return pngOf(t, im), pngOf(t, g)
}

func TestAddTargetFiles(t *testing.T) {
	s, _ := newSession(t, 0)
	img, lab := targetPair(t, 64, 64, 20)
	_, bad := targetPair(t, 64, 64, 20)
	bad[len(bad)/2] ^= 0xff // corrupt the PNG
	big := image.NewGray(image.Rect(0, 0, 64, 64))
	big.Pix[5] = 7 // beyond the 2 classes of classes.txt
	small, smallLab := targetPair(t, 48, 64, 10)
	_ = small
	info, err := s.AddTargetFiles([]File{
		{"classes.txt", []byte("ocean\nmeadow\n")},
		{"a.png", img}, {"a_label.png", lab},
		{"notes.md", []byte("hello")},
		{"b.png", img}, {"b_label.png", bad},
		{"c.png", img}, {"c_label.png", pngOf(t, big)},
		{"d.png", img}, {"d_label.png", smallLab},
		{"e.png", img},
		{"f.jpg", []byte("not a jpeg")}, {"f_label.png", lab},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Added != 1 || len(info.Classes) != 2 || info.Classes[0].Name != "ocean" || !info.Named {
		t.Fatalf("info %+v", info)
	}
	want := map[string]string{
		"notes.md": "not an image", "b_label.png": "PNG", "c_label.png": "not a class",
		"d_label.png": "but its image", "e.png": "no label map", "f.jpg": "not readable",
	}
	got := map[string]string{}
	for _, m := range info.Messages {
		got[m.File] = m.Error
	}
	for f, w := range want {
		if !strings.Contains(got[f], w) {
			t.Errorf("%s: message %q, want one containing %q", f, got[f], w)
		}
	}
	if len(info.Messages) != len(want) {
		t.Errorf("messages %+v, want %d", info.Messages, len(want))
	}

	// A zip in the folder format adds to the set.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, data := range map[string][]byte{"set/images/z1.png": img, "set/labels/z1.png": lab, "set/classes.txt": []byte("ocean\nmeadow\n")} {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	info, err = s.AddTargetFiles([]File{{"set.zip", zb.Bytes()}, {"broken.zip", []byte("PK nope")}})
	if err != nil || info.Added != 1 || len(info.Pairs) != 2 || len(info.Messages) != 1 {
		t.Fatalf("zip: %v %+v", err, info)
	}
	if _, err := s.SetTargetNames([]string{"sea", "sea"}); err == nil {
		t.Error("duplicate names accepted")
	}
	if info, err := s.SetTargetNames([]string{" sea ", "grass"}); err != nil || info.Classes[0].Name != "sea" {
		t.Errorf("rename: %v %+v", err, info)
	}
}

// TestFinetune runs a short affinity-only transfer from a uniform matrix:
// the loss must fall, the session switches to the target classes, and the
// saved adapted model reloads to the same images.
func TestFinetune(t *testing.T) {
	s, _ := newSession(t, 0)
	oceanMeadowUniform(t, s)
	previews := 0
	res, err := s.Finetune(context.Background(), FinetuneConfig{Steps: 30, LR: 0.3, Seed: 9}, func(p Progress) {
		if p.Preview != nil {
			previews++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Losses
	first, last := (l[0]+l[1]+l[2])/3, (l[len(l)-1]+l[len(l)-2]+l[len(l)-3])/3
	t.Logf("losses %.3f", l)
	t.Logf("loss %.4f -> %.4f over %d steps, %.1f ms/step", first, last, len(l), res.MsPerStep)
	if !(last < first*0.99) {
		t.Errorf("loss did not fall: %.4f -> %.4f", first, last)
	}
	if !(res.LossAfter < res.LossBefore) {
		t.Errorf("loss on the target set did not fall: %.4f -> %.4f", res.LossBefore, res.LossAfter)
	}
	if previews < 3 {
		t.Errorf("%d previews", previews)
	}
	info := s.Info()
	if !info.Adapted || len(info.Classes) != 2 {
		t.Fatalf("after finetune: %+v", info)
	}
	ex, _ := s.Examples(1)
	want, _, err := s.Generate(ex[0].Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	file, err := s.SaveAdapted()
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := nn.Open("cpu")
	s2 := NewSession(dev, 0)
	defer s2.Release()
	info2, err := s2.LoadModel(file, "adapted.safetensors.zst")
	if err != nil || !info2.Adapted || info2.Classes[1].Name != "meadow" {
		t.Fatalf("reload: %v %+v", err, info2)
	}
	if ex2, err := s2.Examples(2); err != nil || len(ex2) != 2 {
		t.Errorf("examples of a loaded adapted model: %v, %d maps", err, len(ex2))
	}
	got, _, err := s2.Generate(ex[0].Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range got.Pix {
		diff = max(diff, int(got.Pix[i])-int(want.Pix[i]), int(want.Pix[i])-int(got.Pix[i]))
	}
	if diff > 1 {
		t.Errorf("reloaded adapted model differs by %d levels", diff)
	}
	// Stop, called during a run, ends it after the current step.
	res, err = s.Finetune(context.Background(), FinetuneConfig{Steps: 30, Batch: 1}, func(p Progress) {
		if p.Step == 2 {
			s.Stop()
		}
	})
	if err != nil || !res.Stopped || len(res.Losses) != 2 {
		t.Errorf("stopped run: %v, stopped %v after %d steps, want 2", err, res.Stopped, len(res.Losses))
	}
}

func TestCheckLimits(t *testing.T) {
	for _, tc := range []struct {
		preset string
		size   int
		batch  int
		fits   bool
	}{
		{"tiny", 32, 1, true},
		{"source128", 128, 4, true},
		{"oasis", 256, 1, true},
		{"oasis", 1024, 1, false},
		{"oasis", 256, 16, false},
	} {
		p, _ := gan.LookupPreset(tc.preset)
		gc, _, err := p.Configs(synth.SourceClasses, tc.size, tc.size, "")
		if err != nil {
			t.Fatal(err)
		}
		need, what := gan.LargestBuffer(gc, tc.batch)
		err = models.CheckLimits(models.Spec{Buffers: func(b int) (int64, string) { return gan.LargestBuffer(gc, b) }}, tc.batch, DefaultBindingLimit)
		t.Logf("%s %d px batch %d: largest %s, %.1f MiB", tc.preset, tc.size, tc.batch, what, float64(need)/(1<<20))
		if (err == nil) != tc.fits {
			t.Errorf("%s %d px batch %d: %v, want fits=%v", tc.preset, tc.size, tc.batch, err, tc.fits)
		}
		if err != nil && !strings.Contains(err.Error(), "maxStorageBufferBindingSize") {
			t.Errorf("message %q does not name the limit", err)
		}
	}
}

// FuzzAddTargetFiles feeds arbitrary bytes as an image, a label map and a
// zip: every outcome must be a message, never a panic.
func FuzzAddTargetFiles(f *testing.F) {
	dev, _ := nn.Open("cpu")
	model, err := gan.UntrainedModel("tiny", []string{"a", "b", "c"}, 1)
	if err != nil {
		f.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(b.Bytes(), b.Bytes())
	f.Add([]byte("PK\x03\x04junk"), []byte{0x89, 'P', 'N', 'G'})
	f.Fuzz(func(t *testing.T, a, c []byte) {
		s := NewSession(dev, 0)
		defer s.Release()
		if _, err := s.LoadModel(model, "m"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTargetFiles([]File{{"x.png", a}, {"x_label.png", c}, {"y.zip", a}, {"classes.txt", c}}); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	model, _ := gan.UntrainedModel("tiny", synth.SourceClasses, 1)
	dev, _ := nn.Open("cpu")
	s := NewSession(dev, 0)
	defer s.Release()
	if _, err := s.LoadModel(model, "tiny"); err != nil {
		b.Fatal(err)
	}
	ex, _ := s.Examples(1)
	for b.Loop() {
		if _, _, err := s.Generate(ex[0].Labels, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// lostDevice is the CPU backend whose downloads fail once armed, as a GPU
// device does after it is lost.
type lostDevice struct {
	backend.Backend
	lost *atomic.Bool
}

func (d lostDevice) Download(src backend.Buffer, dst []float32) error {
	if d.lost.Load() {
		return errors.New("device lost (test)")
	}
	return d.Backend.Download(src, dst)
}

// TestFinetuneItemErrorIsAnError is the regression test for a finetune
// that panicked (crashing a native caller) when reading its loss back
// failed, as it does on device loss: it must return the error.
func TestFinetuneItemErrorIsAnError(t *testing.T) {
	model, err := gan.UntrainedModel("tiny", synth.SourceClasses, 3)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	s := NewSession(nn.NewDevice(lostDevice{cpu.New(), &lost}), 0)
	defer s.Release()
	if _, err := s.LoadModel(model, "tiny.safetensors"); err != nil {
		t.Fatal(err)
	}
	img, lab := targetPair(t, 32, 32, 12)
	if _, err := s.AddTargetFiles([]File{{"a.png", img}, {"a_label.png", lab}, {"classes.txt", []byte("ocean\nmeadow\n")}}); err != nil {
		t.Fatal(err)
	}
	S := len(synth.SourceClasses)
	rows := [][]float64{make([]float64, S), make([]float64, S)}
	for i := range S {
		rows[0][i], rows[1][i] = 1, 1
	}
	if _, err := s.SetAffinity(rows, "uniform"); err != nil {
		t.Fatal(err)
	}
	steps := 0
	_, err = s.Finetune(context.Background(), FinetuneConfig{Steps: 5}, func(p Progress) {
		steps++
		lost.Store(true) // the device goes away after the first step
	})
	if err == nil || !strings.Contains(err.Error(), "device lost") {
		t.Fatalf("finetune after device loss: %v, want the device's error", err)
	}
	if steps != 1 {
		t.Errorf("%d steps reported before the error, want 1", steps)
	}
}

// TestAddTargetFilesAsTheCLIWritesThem: the output of `catsynth data synth`
// (images/, labels/, classes.txt, relation_groundtruth.json) is taken as a
// zip and as loose files chosen together (whose names lose their folders,
// so images/x.png and labels/x.png both arrive as x.png); the extra file is
// skipped with a note, not an error.
func TestAddTargetFilesAsTheCLIWritesThem(t *testing.T) {
	dir := t.TempDir()
	ds, err := dataset.Open("synth:coast:n=3,size=32")
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteFolder(context.Background(), dir, ds, 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "relation_groundtruth.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var loose, zipped []File
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		loose = append(loose, File{Name: filepath.Base(p), Data: b})
		w, err := zw.Create("coast/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	zipped = []File{{Name: "coast.zip", Data: buf.Bytes()}}
	for _, tc := range []struct {
		name  string
		files []File
	}{{"zip", zipped}, {"loose", loose}} {
		s, _ := newSession(t, 0)
		info, err := s.AddTargetFiles(tc.files)
		if err != nil {
			t.Fatal(err)
		}
		if info.Added != 3 || len(info.Classes) != 10 || !info.Named {
			t.Errorf("%s: added %d pairs, %d classes, named %v: %+v", tc.name, info.Added, len(info.Classes), info.Named, info.Messages)
		}
		for _, m := range info.Messages {
			if !m.Note || !strings.HasSuffix(m.File, "relation_groundtruth.json") {
				t.Errorf("%s: message %+v, want only a note on relation_groundtruth.json", tc.name, m)
			}
		}
	}
}

// FuzzZipTargets feeds an arbitrary zip (seeded with valid ones holding a
// pair, a classes file, a path-traversing entry and nested folders) to
// AddTargetFiles: every outcome is a message per file, never a panic, and no
// pair is unnamed or named with a path step up.
//
//	go test -run '^$' -fuzz FuzzZipTargets ./app
func FuzzZipTargets(f *testing.F) {
	dev, _ := nn.Open("cpu")
	model, err := gan.UntrainedModel("tiny", []string{"a", "b", "c"}, 1)
	if err != nil {
		f.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var pb bytes.Buffer
	png.Encode(&pb, img)
	for _, entries := range [][]string{
		{"x.png", "x_label.png", "classes.txt"},
		{"../../evil_label.png", "d/x.png", "d/x_label.png"},
		{"__MACOSX/._x.png", "/abs.png"},
	} {
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		for _, e := range entries {
			w, err := zw.Create(e)
			if err != nil {
				f.Fatal(err)
			}
			if strings.HasSuffix(e, ".txt") {
				w.Write([]byte("a\nb\nc\n"))
			} else {
				w.Write(pb.Bytes())
			}
		}
		zw.Close()
		f.Add(zb.Bytes())
	}
	// One session per worker, cleared between inputs: loading the model for
	// each input would make every run a model-loading benchmark.
	s := NewSession(dev, 0)
	defer s.Release()
	if _, err := s.LoadModel(model, "m"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, z []byte) {
		s.ClearTarget()
		info, err := s.AddTargetFiles([]File{{"t.zip", z}})
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Pairs) > MaxPairs {
			t.Fatalf("%d pairs, limit %d", len(info.Pairs), MaxPairs)
		}
		for _, p := range info.Pairs {
			if p == "" || strings.Contains(p, "..") {
				t.Fatalf("pair named %q", p)
			}
		}
	})
}

// oceanMeadowUniform gives the session four 32 px "ocean over meadow"
// target pairs and a uniform affinity matrix over the source classes.
func oceanMeadowUniform(t *testing.T, s *Session) {
	t.Helper()
	var files []File
	for i, split := range []int{8, 12, 16, 20} {
		img, lab := targetPair(t, 32, 32, split)
		n := string(rune('a' + i))
		files = append(files, File{n + ".png", img}, File{n + "_label.png", lab})
	}
	if _, err := s.AddTargetFiles(append(files, File{"classes.txt", []byte("ocean\nmeadow\n")})); err != nil {
		t.Fatal(err)
	}
	S := len(synth.SourceClasses)
	rows := [][]float64{make([]float64, S), make([]float64, S)}
	for i := range S {
		rows[0][i], rows[1][i] = 1, 1
	}
	if _, err := s.SetAffinity(rows, "uniform"); err != nil {
		t.Fatal(err)
	}
}
