package app

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"catsynth/dataset"
)

// File is a file the user dropped: its name (a path inside a zip for zip
// entries) and content.
type File struct {
	Name string
	Data []byte
}

// Pair is one target image with its label map, both at the model's size,
// and the image once more at up to EstimateSize pixels for the estimators
// (a feature network sees little in a 64 px image blown up to 224).
type Pair struct {
	Name   string
	Image  []float32 // (3, H, W) in [-1, 1]
	Labels []int32   // H*W class indices or dataset.Ignore
	// Detail is the image at DetailW x DetailH: its own size, or
	// EstimateSize when larger. (3, DetailH, DetailW) in [-1, 1].
	Detail           []float32
	DetailW, DetailH int
}

// EstimateSize bounds the side of the images kept for the estimators: the
// feature network's input (MobileNetV2: 224).
const EstimateSize = 224

// TargetSet is the user's few-shot target data.
type TargetSet struct {
	Classes []dataset.Class
	Pairs   []Pair
	// fromFile is true when Classes came from a classes.txt.
	fromFile bool
}

// FileMessage is the outcome of one dropped file that was not used: an
// error, or with Note a file that is simply not target data (the
// relation_groundtruth.json of `catsynth data synth`, a README), skipped.
type FileMessage struct {
	File  string `json:"file"`
	Error string `json:"error"`
	Note  bool   `json:"note,omitempty"`
}

// TargetInfo summarises the target set for the page.
type TargetInfo struct {
	Classes  []ClassInfo   `json:"classes"`
	Pairs    []string      `json:"pairs"`
	Added    int           `json:"added"`
	Messages []FileMessage `json:"messages"` // one per refused file
	Named    bool          `json:"named"`    // class names came from a classes.txt
}

// Limits on dropped data: a zip may not expand beyond MaxUnzipped bytes or
// MaxZipEntries entries, and the set keeps at most MaxPairs pairs.
const (
	MaxUnzipped   = 512 << 20
	MaxZipEntries = 4096
	MaxPairs      = 64
	// MaxImagePixels bounds each dropped image (4096 x 4096): a page has
	// less memory than a training machine.
	MaxImagePixels = 4096 * 4096
)

// AddTargetFiles adds dropped files to the target set: images and label
// maps (PNG/JPEG; a label map is a PNG under labels/ or named
// NAME_label.png / NAME.label.png, its image images/NAME.* or NAME.*),
// a classes.txt (dataset.ParseClasses: names, optional colours), and zips
// holding any of these (the folder format). Every file that cannot be used
// gets a message; the rest is added. Without a classes.txt, the classes
// are "class 0".."class K" for the largest label K seen (rename them with
// SetTargetNames).
func (s *Session) AddTargetFiles(files []File) (TargetInfo, error) {
	if s.net == nil {
		return TargetInfo{}, ErrNoModel
	}
	var msgs []FileMessage
	files, msgs = expandZips(files, msgs)
	if s.target == nil {
		s.target = &TargetSet{}
	}
	ts := s.target
	type item struct {
		file  string
		data  []byte
		label bool
	}
	images, labels := map[string]item{}, map[string]item{}
	// Loose files chosen together (images/x.png and labels/x.png picked
	// as x.png twice) share a stem with nothing saying which is which:
	// then an 8-bit gray or paletted PNG is the label map.
	unmarked := map[string]int{}
	for _, f := range files {
		if stem, marked := labelMarker(f.Name); !marked {
			unmarked[strings.ToLower(stem)]++
		}
	}
	for _, f := range files {
		base := path.Base(f.Name)
		lower := strings.ToLower(base)
		switch {
		case lower == "classes.txt":
			cs, _, err := dataset.ParseClasses(bytes.NewReader(f.Data), f.Name)
			if err != nil {
				msgs = append(msgs, FileMessage{File: f.Name, Error: err.Error()})
				continue
			}
			if len(ts.Pairs) > 0 && len(cs) != len(ts.Classes) {
				msgs = append(msgs, FileMessage{File: f.Name, Error: fmt.Sprintf("lists %d classes but the target set already uses %d", len(cs), len(ts.Classes))})
				continue
			}
			if len(cs) >= MaxClasses {
				msgs = append(msgs, FileMessage{File: f.Name, Error: fmt.Sprintf("lists %d classes; the page handles at most %d", len(cs), MaxClasses-1)})
				continue
			}
			ts.Classes, ts.fromFile = cs, true
		case strings.HasPrefix(lower, "."), strings.HasSuffix(f.Name, "/"):
			continue // hidden files and zip directories
		default:
			ext := path.Ext(lower)
			if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
				msgs = append(msgs, FileMessage{File: f.Name, Error: "not an image, label map, classes.txt or zip: skipped (not target data)", Note: true})
				continue
			}
			stem, isLabel := labelMarker(f.Name)
			if !isLabel && unmarked[strings.ToLower(stem)] > 1 && ext == ".png" {
				isLabel = isIndexPNG(f.Data)
			}
			if isLabel && ext != ".png" {
				msgs = append(msgs, FileMessage{File: f.Name, Error: "a label map must be a PNG (JPEG changes the values)"})
				continue
			}
			dst := images
			if isLabel {
				dst = labels
			}
			if o, dup := dst[stem]; dup {
				msgs = append(msgs, FileMessage{File: f.Name, Error: "same name as " + o.file + "; kept the first"})
				continue
			}
			dst[stem] = item{file: f.Name, data: f.Data, label: isLabel}
		}
	}
	// Decode the label maps first: without a classes.txt their largest
	// value sets the class count.
	numClasses := len(ts.Classes)
	format := dataset.LabelFormat{NumClasses: MaxClasses - 1}
	if numClasses > 0 {
		format = dataset.ColorFormat(ts.Classes)
		if !ts.fromFile || !hasColors(ts.Classes) {
			format.Colors = nil
		}
	}
	stems := make([]string, 0, len(labels))
	for st := range labels {
		stems = append(stems, st)
	}
	sort.Strings(stems)
	var pairs []Pair
	largest := int32(-1)
	for _, st := range stems {
		li := labels[st]
		ii, ok := images[st]
		if !ok {
			msgs = append(msgs, FileMessage{File: li.file, Error: "no image named " + st + " (.png or .jpg) for this label map"})
			continue
		}
		delete(images, st)
		if err := checkPixels(li.data); err != nil {
			msgs = append(msgs, FileMessage{File: li.file, Error: err.Error()})
			continue
		}
		if err := checkPixels(ii.data); err != nil {
			msgs = append(msgs, FileMessage{File: ii.file, Error: err.Error()})
			continue
		}
		lm, err := dataset.DecodeLabel(li.data, li.file, format)
		if err != nil {
			msgs = append(msgs, FileMessage{File: li.file, Error: err.Error()})
			continue
		}
		img, err := dataset.DecodeImage(ii.data, ii.file)
		if err != nil {
			msgs = append(msgs, FileMessage{File: ii.file, Error: err.Error()})
			continue
		}
		p, top, aboutImage, err := s.pairOf(st, img, lm, ii.file)
		if err != nil {
			file := li.file
			if aboutImage {
				file = ii.file
			}
			msgs = append(msgs, FileMessage{File: file, Error: err.Error()})
			continue
		}
		if len(ts.Pairs)+len(pairs) >= MaxPairs {
			msgs = append(msgs, FileMessage{File: ii.file, Error: fmt.Sprintf("the target set is full (%d images)", MaxPairs)})
			continue
		}
		largest = max(largest, top)
		pairs = append(pairs, p)
	}
	for st, ii := range images {
		msgs = append(msgs, FileMessage{File: ii.file, Error: "no label map for this image (want labels/" + st + ".png or " + st + "_label.png)"})
	}
	if numClasses == 0 && largest >= 0 {
		ts.Classes = make([]dataset.Class, largest+1)
		for i := range ts.Classes {
			ts.Classes[i] = dataset.Class{Name: fmt.Sprintf("class %d", i), Color: dataset.DefaultColor(i)}
		}
	}
	ts.Pairs = append(ts.Pairs, pairs...)
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].File < msgs[j].File })
	info := s.TargetInfo()
	info.Added, info.Messages = len(pairs), msgs
	if len(ts.Pairs) > 0 && s.aff != nil && s.aff.T() != len(ts.Classes) {
		s.aff = nil
		s.dropLayer()
	}
	return info, nil
}

// pairOf checks a decoded image and its label map and makes the pair at
// the model's size, with the largest class index seen. The error says
// what is wrong; aboutImage says whether it concerns the image (named
// imageName in it) rather than the label map.
func (s *Session) pairOf(name string, img *image.RGBA, lm *dataset.LabelMap, imageName string) (p Pair, largest int32, aboutImage bool, err error) {
	W, H := s.w, s.h
	if b := img.Bounds(); b.Dx() != lm.W || b.Dy() != lm.H {
		return p, 0, false, fmt.Errorf("label map is %dx%d but its image %s is %dx%d", lm.W, lm.H, imageName, b.Dx(), b.Dy())
	}
	if lm.W < W/4 || lm.H < H/4 {
		return p, 0, true, fmt.Errorf("image is %dx%d, too small for a %dx%d model", lm.W, lm.H, W, H)
	}
	m := resizeLabels(lm, W, H)
	largest = -1
	for _, v := range m.Pix {
		largest = max(largest, v)
	}
	if largest < 0 {
		return p, 0, false, fmt.Errorf("label map has no labelled pixel")
	}
	ew, eh := min(img.Bounds().Dx(), EstimateSize), min(img.Bounds().Dy(), EstimateSize)
	return Pair{Name: name, Image: resizeImage(img, W, H), Labels: m.Pix,
		Detail: resizeImage(img, ew, eh), DetailW: ew, DetailH: eh}, largest, false, nil
}

// SetTargetDataset replaces the target set by a dataset's samples, as
// `catsynth transfer --target` opens them (dataset.Open: the folder
// format, or an ADE20K, Cityscapes or COCO-Stuff path): its classes, with
// their names and colours, and up to MaxPairs samples (dataset.Limit's
// subset with seed 0, the one the CLI's --limit takes, when it holds
// more). Each sample or file that cannot be used gets a message.
func (s *Session) SetTargetDataset(ds dataset.Dataset) (TargetInfo, error) {
	if s.net == nil {
		return TargetInfo{}, ErrNoModel
	}
	cs := ds.Classes()
	if len(cs) == 0 || len(cs) >= MaxClasses {
		return TargetInfo{}, fmt.Errorf("%s has %d classes; the target set takes 1 to %d", ds.Name(), len(cs), MaxClasses-1)
	}
	var msgs []FileMessage
	for _, sk := range dataset.Skipped(ds) {
		msgs = append(msgs, FileMessage{File: sk.Path, Error: sk.Reason})
	}
	if ds.Len() > MaxPairs {
		var err error
		if ds, err = dataset.Limit(ds, MaxPairs, 0); err != nil {
			return TargetInfo{}, err
		}
	}
	var pairs []Pair
	for i := range ds.Len() {
		smp, err := ds.Load(i)
		if err != nil {
			msgs = append(msgs, FileMessage{File: ds.ItemName(i), Error: err.Error()})
			continue
		}
		p, _, _, err := s.pairOf(ds.ItemName(i), smp.Image, smp.Label, smp.Name)
		if err != nil {
			msgs = append(msgs, FileMessage{File: ds.ItemName(i), Error: err.Error()})
			continue
		}
		pairs = append(pairs, p)
	}
	s.ClearTarget()
	s.target = &TargetSet{Classes: slices.Clone(cs), Pairs: pairs, fromFile: true}
	info := s.TargetInfo()
	info.Added, info.Messages = len(pairs), msgs
	return info, nil
}

// labelMarker returns a file's stem and whether its path marks it as a
// label map: under labels/, or named NAME_label.png (.label, _labels,
// -label).
func labelMarker(name string) (stem string, isLabel bool) {
	base := path.Base(name)
	stem = strings.TrimSuffix(base, path.Ext(base))
	isLabel = strings.Contains("/"+path.Dir(name)+"/", "/labels/")
	for _, suf := range []string{"_label", ".label", "_labels", "-label"} {
		if strings.HasSuffix(strings.ToLower(stem), suf) {
			stem, isLabel = stem[:len(stem)-len(suf)], true
		}
	}
	return stem, isLabel
}

// isIndexPNG reports whether data is a PNG whose pixels are indices: 8- or
// 16-bit gray, or paletted (the folder format's label maps), as opposed to
// an RGB photo.
func isIndexPNG(data []byte) bool {
	// PNG signature (8), IHDR length and type (8), width, height (8),
	// then bit depth and colour type.
	if len(data) < 26 || string(data[1:4]) != "PNG" || string(data[12:16]) != "IHDR" {
		return false
	}
	return data[25] == 0 || data[25] == 3
}

func hasColors(cs []dataset.Class) bool {
	for i, c := range cs {
		if c.Color != dataset.DefaultColor(i) {
			return true
		}
	}
	return false
}

// TargetInfo describes the target set.
func (s *Session) TargetInfo() TargetInfo {
	info := TargetInfo{Classes: []ClassInfo{}, Pairs: []string{}, Messages: []FileMessage{}}
	if s.target == nil {
		return info
	}
	info.Classes = classInfos(s.target.Classes)
	info.Named = s.target.fromFile
	for _, p := range s.target.Pairs {
		info.Pairs = append(info.Pairs, p.Name)
	}
	return info
}

// ClearTarget drops the target set, matrix and layer.
func (s *Session) ClearTarget() {
	s.target, s.aff = nil, nil
	s.dropLayer()
	s.adapted = false
}

// SetTargetNames renames the target classes (the text estimate reads
// these names).
func (s *Session) SetTargetNames(names []string) (TargetInfo, error) {
	if s.target == nil || len(s.target.Classes) == 0 {
		return TargetInfo{}, fmt.Errorf("no target classes yet: add images and label maps first")
	}
	if len(names) != len(s.target.Classes) {
		return TargetInfo{}, fmt.Errorf("%d names for %d target classes", len(names), len(s.target.Classes))
	}
	seen := map[string]bool{}
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			return TargetInfo{}, fmt.Errorf("target class %d has an empty name", i)
		}
		if seen[n] {
			return TargetInfo{}, fmt.Errorf("target class name %q is used twice", n)
		}
		seen[n] = true
		names[i] = n
	}
	for i, n := range names {
		s.target.Classes[i].Name = n
	}
	if s.aff != nil {
		s.aff.Target = append([]string(nil), names...)
		if s.layer != nil {
			s.layer.Target = append([]string(nil), names...)
		}
	}
	return s.TargetInfo(), nil
}

// expandZips replaces each .zip by its entries (named "zip/entry"),
// bounded by MaxUnzipped and MaxZipEntries.
func expandZips(files []File, msgs []FileMessage) ([]File, []FileMessage) {
	var out []File
	for _, f := range files {
		if !strings.HasSuffix(strings.ToLower(f.Name), ".zip") {
			out = append(out, f)
			continue
		}
		zr, err := zip.NewReader(bytes.NewReader(f.Data), int64(len(f.Data)))
		if err != nil {
			msgs = append(msgs, FileMessage{File: f.Name, Error: "not a readable zip: " + err.Error()})
			continue
		}
		if len(zr.File) > MaxZipEntries {
			msgs = append(msgs, FileMessage{File: f.Name, Error: fmt.Sprintf("holds %d entries, over the limit of %d", len(zr.File), MaxZipEntries)})
			continue
		}
		var total int64
		for _, e := range zr.File {
			if e.FileInfo().IsDir() {
				continue
			}
			rc, err := e.Open()
			if err != nil {
				msgs = append(msgs, FileMessage{File: f.Name + "/" + e.Name, Error: err.Error()})
				continue
			}
			data, err := io.ReadAll(io.LimitReader(rc, MaxUnzipped-total+1))
			rc.Close()
			total += int64(len(data))
			if total > MaxUnzipped {
				msgs = append(msgs, FileMessage{File: f.Name, Error: fmt.Sprintf("expands beyond %d MiB; stopped at %s", MaxUnzipped>>20, e.Name)})
				break
			}
			if err != nil {
				msgs = append(msgs, FileMessage{File: f.Name + "/" + e.Name, Error: err.Error()})
				continue
			}
			out = append(out, File{Name: e.Name, Data: data})
		}
	}
	return out, msgs
}

// resizeImage box-filters img to w x h and returns it as (3, h, w) floats
// in [-1, 1] (the generator's output range).
func resizeImage(img *image.RGBA, w, h int) []float32 {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := range h {
		y0, y1 := y*sh/h, max((y+1)*sh/h, y*sh/h+1)
		for x := range w {
			x0, x1 := x*sw/w, max((x+1)*sw/w, x*sw/w+1)
			var sum [3]float64
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					o := img.PixOffset(b.Min.X+xx, b.Min.Y+yy)
					for c := range 3 {
						sum[c] += float64(img.Pix[o+c])
					}
				}
			}
			n := float64((y1 - y0) * (x1 - x0))
			for c := range 3 {
				out[c*w*h+y*w+x] = float32(sum[c]/n/127.5 - 1)
			}
		}
	}
	return out
}

// checkPixels refuses an image whose header claims more than
// MaxImagePixels, before anything is decoded. Unreadable headers pass:
// the decoder reports them.
func checkPixels(data []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err == nil && cfg.Width*cfg.Height > MaxImagePixels {
		return fmt.Errorf("image is %dx%d, over the page's limit of %d pixels", cfg.Width, cfg.Height, MaxImagePixels)
	}
	return nil
}
