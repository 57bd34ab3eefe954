package dataset

import (
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// listPairs walks imgDir (recursively) for files ending in imgSuffix and pairs
// each with the file at the same relative path under labDir whose name ends
// in labSuffix instead. Unpaired files are recorded as skipped.
func listPairs(p *pairs, imgDir, labDir, imgSuffix, labSuffix string) error {
	if st, err := os.Stat(imgDir); err != nil {
		return asFileErr(imgDir, err)
	} else if !st.IsDir() {
		return fileErr(imgDir, "not a folder")
	}
	if _, err := os.Stat(labDir); err != nil {
		return asFileErr(labDir, err)
	}
	found := map[string]bool{}
	err := filepath.WalkDir(imgDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return asFileErr(path, err)
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(imgDir, path)
		if !strings.HasSuffix(rel, imgSuffix) {
			p.skipped = append(p.skipped, Skip{path, "name does not end in " + imgSuffix})
			return nil
		}
		stem := strings.TrimSuffix(rel, imgSuffix)
		lp := filepath.Join(labDir, stem+labSuffix)
		if _, err := os.Stat(lp); err != nil {
			p.skipped = append(p.skipped, Skip{path, "no label map " + lp})
			return nil
		}
		found[lp] = true
		p.items = append(p.items, pair{filepath.ToSlash(stem), path, lp})
		return nil
	})
	if err != nil {
		return err
	}
	// label files without an image are reported too
	_ = filepath.WalkDir(labDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, labSuffix) && !found[path] {
			p.skipped = append(p.skipped, Skip{path, "no image for this label map"})
		}
		return nil
	})
	sort.Slice(p.items, func(i, j int) bool { return p.items[i].name < p.items[j].name })
	if len(p.items) == 0 {
		return fileErr(imgDir, "no images with label maps (%d files skipped)", len(p.skipped))
	}
	return nil
}

// OpenADE20K opens the ADE20K scene parsing release (ADEChallengeData2016):
// root/images/{training,validation}/ADE_*.jpg with
// root/annotations/{training,validation}/ADE_*.png. Annotation value 0
// (unlabelled) is Ignore and v in 1..150 is class v-1. split is "training"
// (default) or "validation".
func OpenADE20K(root, split string) (Dataset, error) {
	if split == "" {
		split = "training"
	}
	var lut [256]int32
	for v := range lut {
		switch {
		case v == 0:
			lut[v] = Ignore
		case v <= len(ade20kNames):
			lut[v] = int32(v - 1)
		default:
			lut[v] = lutInvalid
		}
	}
	p := &pairs{name: "ade20k:" + root + ":" + split, classes: withColors(ade20kNames),
		format: LabelFormat{NumClasses: len(ade20kNames), LUT: &lut}}
	err := listPairs(p, filepath.Join(root, "images", split), filepath.Join(root, "annotations", split), ".jpg", ".png")
	return p, err
}

// OpenCityscapes opens Cityscapes fine annotations:
// root/leftImg8bit/SPLIT/CITY/X_leftImg8bit.png with
// root/gtFine/SPLIT/CITY/X_gtFine_labelIds.png. With trainIDs false the
// classes are the 34 label ids 0..33 (value 255, where the id -1 "license
// plate" ends up, is Ignore); with trainIDs true they are the 19 benchmark
// classes and every other id is Ignore. split is train (default), val or test.
func OpenCityscapes(root, split string, trainIDs bool) (Dataset, error) {
	if split == "" {
		split = "train"
	}
	var lut [256]int32
	for v := range lut {
		lut[v] = lutInvalid
	}
	lut[255] = Ignore
	for _, l := range cityscapesLabels {
		if !trainIDs {
			lut[l.id] = int32(l.id)
		} else if l.trainID == 255 {
			lut[l.id] = Ignore
		} else {
			lut[l.id] = int32(l.trainID)
		}
	}
	cs := cityscapesClasses(trainIDs)
	name := "cityscapes:" + root + ":" + split
	if trainIDs {
		name += ":trainids"
	}
	p := &pairs{name: name, classes: cs, format: LabelFormat{NumClasses: len(cs), LUT: &lut}}
	err := listPairs(p, filepath.Join(root, "leftImg8bit", split), filepath.Join(root, "gtFine", split),
		"_leftImg8bit.png", "_gtFine_labelIds.png")
	return p, err
}

func cityscapesClasses(trainIDs bool) []Class {
	var cs []Class
	for _, l := range cityscapesLabels {
		if trainIDs && l.trainID == 255 {
			continue
		}
		c := color.RGBA{l.color[0], l.color[1], l.color[2], 255}
		if c == (color.RGBA{A: 255}) {
			c = DefaultColor(l.id)
		}
		cs = append(cs, Class{Name: l.name, Color: c})
	}
	return cs
}

// OpenCOCOStuff opens COCO-Stuff 164k: root/images/{train2017,val2017}/*.jpg
// with root/stuffthingmaps_trainval2017/{train2017,val2017}/*.png, values
// 0..181 are the classes and 255 is Ignore. split is train2017 (default) or
// val2017 ("train" and "val" are accepted).
func OpenCOCOStuff(root, split string) (Dataset, error) {
	switch split {
	case "", "train":
		split = "train2017"
	case "val":
		split = "val2017"
	}
	p := &pairs{name: "cocostuff:" + root + ":" + split, classes: withColors(cocoStuffNames),
		format: LabelFormat{NumClasses: len(cocoStuffNames)}}
	err := listPairs(p, filepath.Join(root, "images", split), filepath.Join(root, "stuffthingmaps_trainval2017", split), ".jpg", ".png")
	return p, err
}
