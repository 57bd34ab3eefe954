package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pairs is a dataset of image/label file pairs on disk; the public layouts
// and the folder format all list into it.
type pairs struct {
	name    string
	classes []Class
	format  LabelFormat
	items   []pair
	skipped []Skip
}

type pair struct {
	name, image, label string
}

func (p *pairs) Name() string          { return p.name }
func (p *pairs) Classes() []Class      { return p.classes }
func (p *pairs) Len() int              { return len(p.items) }
func (p *pairs) ItemName(i int) string { return p.items[i].name }
func (p *pairs) Skipped() []Skip       { return p.skipped }

// Load decodes image and label of item i.
func (p *pairs) Load(i int) (*Sample, error) {
	it := p.items[i]
	img, err := DecodeImageFile(it.image)
	if err != nil {
		return nil, asFileErr(it.image, err)
	}
	lab, err := DecodeLabelFile(it.label, p.format)
	if err != nil {
		return nil, asFileErr(it.label, err)
	}
	s := &Sample{Name: it.name, Image: img, Label: lab, Classes: p.classes}
	if err := checkSample(s, it.label); err != nil {
		return nil, err
	}
	return s, nil
}

func asFileErr(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return &FileError{Path: path, Err: err}
}

var imageExts = []string{".jpg", ".jpeg", ".png"}

func isImageName(n string) bool {
	ext := strings.ToLower(filepath.Ext(n))
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// OpenFolder opens the folder format:
//
//	DIR/classes.txt        one class per line, index order, optional colour (see ParseClasses)
//	DIR/images/NAME.jpg    (or .jpeg, .png) the RGB images
//	DIR/labels/NAME.png    label maps: 8/16-bit class indices, or colours of classes.txt
//
// Images without a label map, label maps without an image and other files
// are left out and reported by Skipped. A folder without any pair is an error.
func OpenFolder(dir string) (Dataset, error) {
	cpath := filepath.Join(dir, "classes.txt")
	cf, err := os.Open(cpath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fileErr(cpath, "missing classes file (one class name per line)")
		}
		return nil, asFileErr(cpath, err)
	}
	classes, hasColors, err := ParseClasses(cf, cpath)
	cf.Close()
	if err != nil {
		return nil, err
	}
	format := LabelFormat{NumClasses: len(classes)}
	if hasColors {
		format = ColorFormat(classes)
	}
	if len(classes) >= 65535 {
		return nil, fileErr(cpath, "%d classes: at most 65534 fit a 16-bit label map", len(classes))
	}
	p := &pairs{name: "folder:" + dir, classes: classes, format: format}
	imgDir, labDir := filepath.Join(dir, "images"), filepath.Join(dir, "labels")
	imgs, err := os.ReadDir(imgDir)
	if err != nil {
		return nil, asFileErr(imgDir, err)
	}
	labs, err := os.ReadDir(labDir)
	if err != nil {
		return nil, asFileErr(labDir, err)
	}
	labels := map[string]string{}
	for _, e := range labs {
		n := e.Name()
		if e.IsDir() || strings.ToLower(filepath.Ext(n)) != ".png" {
			p.skipped = append(p.skipped, Skip{filepath.Join(labDir, n), "not a .png label map"})
			continue
		}
		labels[strings.TrimSuffix(n, filepath.Ext(n))] = filepath.Join(labDir, n)
	}
	used := map[string]bool{}
	for _, e := range imgs {
		n := e.Name()
		path := filepath.Join(imgDir, n)
		if e.IsDir() || !isImageName(n) {
			p.skipped = append(p.skipped, Skip{path, "not a .jpg/.jpeg/.png image"})
			continue
		}
		stem := strings.TrimSuffix(n, filepath.Ext(n))
		lp, ok := labels[stem]
		switch {
		case !ok:
			p.skipped = append(p.skipped, Skip{path, "no label map labels/" + stem + ".png"})
		case used[stem]:
			p.skipped = append(p.skipped, Skip{path, "another image has the same name " + stem})
		default:
			used[stem] = true
			p.items = append(p.items, pair{stem, path, lp})
		}
	}
	for stem, lp := range labels {
		if !used[stem] {
			p.skipped = append(p.skipped, Skip{lp, "no image images/" + stem + ".{jpg,png}"})
		}
	}
	sort.Slice(p.items, func(i, j int) bool { return p.items[i].name < p.items[j].name })
	sort.Slice(p.skipped, func(i, j int) bool { return p.skipped[i].Path < p.skipped[j].Path })
	if len(p.items) == 0 {
		return nil, fileErr(dir, "no labelled images (images/NAME.{jpg,png} with labels/NAME.png); %d files skipped", len(p.skipped))
	}
	return p, nil
}

// describeSkips summarizes skipped files for a report, e.g. "3 files skipped:
// 2 no label map, 1 not an image".
func DescribeSkips(s []Skip) string {
	if len(s) == 0 {
		return "no files skipped"
	}
	count := map[string]int{}
	var keys []string
	for _, k := range s {
		r := k.Reason
		if i := strings.Index(r, " labels/"); i > 0 {
			r = r[:i]
		} else if i := strings.Index(r, " images/"); i > 0 {
			r = r[:i]
		}
		if count[r] == 0 {
			keys = append(keys, r)
		}
		count[r]++
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	return fmt.Sprintf("%d files skipped (%s)", len(s), strings.Join(parts, ", "))
}
