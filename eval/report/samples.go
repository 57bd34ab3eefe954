package report

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"catsynth/dataset"
	"catsynth/dataset/synth"
	"catsynth/eval/seg"
)

// SampleSources says where LoadSamples finds the pictures of a name.
type SampleSources struct {
	// LabelDir holds NAME.png label maps ("" for none), decoded with Format.
	LabelDir string
	Format   dataset.LabelFormat
	// RealDir holds NAME.(png|jpg|jpeg) real images ("" for none).
	RealDir string
	// GeneratedDirs hold NAME.png generated images; a file with k images
	// side by side (generate --n k) gives k columns.
	GeneratedDirs []string
}

// findImage returns dir/NAME with the first image extension that exists.
func findImage(dir, name string) string {
	for _, ext := range []string{".png", ".jpg", ".jpeg", ".PNG", ".JPG"} {
		p := filepath.Join(dir, name+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// LoadSamples builds the sample grid rows of names (file names without
// extension) and the headings of the generated columns. A missing real
// image leaves its cell empty; a missing label map or generated image when
// its folder is given is an error naming the file.
func LoadSamples(names []string, src SampleSources) ([]SampleRow, []string, error) {
	var rows []SampleRow
	cols := 0
	perDir := make([]int, len(src.GeneratedDirs))
	for _, name := range names {
		row := SampleRow{Name: name}
		lw, lh := 0, 0
		if src.LabelDir != "" {
			m, err := dataset.DecodeLabelFile(filepath.Join(src.LabelDir, name+".png"), src.Format)
			if err != nil {
				return nil, nil, err
			}
			row.Label, lw, lh = m, m.W, m.H
		}
		if src.RealDir != "" {
			if p := findImage(src.RealDir, name); p != "" {
				img, err := dataset.DecodeImageFile(p)
				if err != nil {
					return nil, nil, err
				}
				row.Real = img
			}
		}
		for d, dir := range src.GeneratedDirs {
			p := findImage(dir, name)
			if p == "" {
				return nil, nil, fmt.Errorf("report: no generated image %s in %s", name, dir)
			}
			img, err := dataset.DecodeImageFile(p)
			if err != nil {
				return nil, nil, err
			}
			tiles := []*image.RGBA{img}
			if lw > 0 {
				if tiles, err = seg.Tiles(img, lw, lh); err != nil {
					return nil, nil, fmt.Errorf("report: %s: %w", p, err)
				}
			}
			perDir[d] = max(perDir[d], len(tiles))
			for _, t := range tiles {
				row.Generated = append(row.Generated, t)
			}
		}
		cols = max(cols, len(row.Generated))
		rows = append(rows, row)
	}
	var heads []string
	for d, dir := range src.GeneratedDirs {
		base := filepath.Base(dir)
		for k := 0; k < perDir[d]; k++ {
			switch {
			case len(src.GeneratedDirs) == 1:
				heads = append(heads, fmt.Sprintf("generated %d", k+1))
			case perDir[d] == 1:
				heads = append(heads, base)
			default:
				heads = append(heads, fmt.Sprintf("%s %d", base, k+1))
			}
		}
	}
	return rows, heads[:min(len(heads), cols)], nil
}

// ClassColors returns display colours for class names: those of a
// synthetic domain with exactly these classes, else the classes of
// classesFile (if not ""), else dataset.DefaultColor.
func ClassColors(names []string, classesFile string) []dataset.Class {
	for _, d := range synth.Domains() {
		dom, err := synth.Lookup(d)
		if err != nil || len(dom.Classes) != len(names) {
			continue
		}
		ok := true
		for i, c := range dom.Classes {
			ok = ok && c.Name == names[i]
		}
		if ok {
			out := make([]dataset.Class, len(names))
			for i, c := range dom.Classes {
				out[i] = dataset.Class{Name: c.Name, Color: color.RGBA{c.Color[0], c.Color[1], c.Color[2], 255}}
			}
			return out
		}
	}
	if classesFile != "" {
		if f, err := os.Open(classesFile); err == nil {
			cs, hasColors, err := dataset.ParseClasses(f, classesFile)
			f.Close()
			if err == nil && hasColors && slices.Equal(dataset.ClassNames(cs), names) {
				return cs
			}
		}
	}
	out := make([]dataset.Class, len(names))
	for i, n := range names {
		out[i] = dataset.Class{Name: n, Color: dataset.DefaultColor(i)}
	}
	return out
}

// SampleNames picks up to n names (sorted file names without extension)
// of the images in dir.
func SampleNames(dir string, n int) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
			names = append(names, strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())))
		}
	}
	slices.Sort(names)
	return names[:min(n, len(names))], nil
}
