// Package report presents the results of `catsynth eval`: an aligned text
// table, JSON, and a static HTML page with PNG charts (per-class IoU bars,
// sample grids, the affinity heatmap) that needs no network to view.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"catsynth/eval"
	"catsynth/eval/seg"
)

// Results is everything one `catsynth eval` run measured: the FID/KID and
// affinity report of package eval (its fields are inlined in the JSON) and
// the mIoU of generated images when a segmenter scored them.
type Results struct {
	*eval.Report
	MIoU *MIoU `json:"miou,omitempty"`
}

// MIoU is the segmentation score of generated images against the label
// maps they were generated from.
type MIoU struct {
	// Segmenter names the segmenter file; SegmenterData the data it was
	// trained on (from its metadata, "" if unknown); Size its input size.
	Segmenter     string `json:"segmenter"`
	SegmenterData string `json:"segmenter_data,omitempty"`
	Size          int    `json:"size"`
	Generated     string `json:"generated"`
	Labels        string `json:"labels"`
	// Images is the number of generated files, Tiles the number of images
	// scored (files holding several seeds side by side count each).
	Images int `json:"images"`
	Tiles  int `json:"tiles"`
	seg.Summary
	// Ceiling is the segmenter's mIoU on real held-out images, recorded
	// when it was trained: the most a generator can reach.
	Ceiling *seg.Summary `json:"ceiling,omitempty"`

	result seg.Result
}

// NewMIoU wraps a scored result.
func NewMIoU(r seg.Result) *MIoU {
	return &MIoU{Summary: r.Summary(), result: r}
}

// WriteTable prints the eval report's table followed by the mIoU lines and
// a per-class table (generated vs ceiling).
func (r *Results) WriteTable(w io.Writer) {
	if r.Report != nil {
		r.Report.WriteTable(w)
	}
	m := r.MIoU
	if m == nil {
		return
	}
	row := func(k, v string) { fmt.Fprintf(w, "%-18s %s\n", k, v) }
	row("segmenter", fmt.Sprintf("%s (%d px)", m.Segmenter, m.Size))
	row("mIoU images", fmt.Sprintf("%s (%d files, %d images) vs %s", m.Generated, m.Images, m.Tiles, m.Labels))
	row("mIoU", fmt.Sprintf("%.4f  (mean over %d classes present in truth or prediction)", m.MeanIoU, m.ClassesScored))
	row("pixel accuracy", fmt.Sprintf("%.4f", m.PixelAccuracy))
	if m.Ceiling != nil {
		row("mIoU ceiling", fmt.Sprintf("%.4f  (segmenter on real held-out images)", m.Ceiling.MeanIoU))
	}
	fmt.Fprintf(w, "  %-16s %9s %9s\n", "class", "IoU", "ceiling")
	for i, c := range m.PerClass {
		ceil := ""
		if m.Ceiling != nil && i < len(m.Ceiling.PerClass) {
			ceil = fmtIoU(m.Ceiling.PerClass[i].IoU)
		}
		fmt.Fprintf(w, "  %-16s %9s %9s\n", c.Class, fmtIoU(c.IoU), ceil)
	}
}

func fmtIoU(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *v)
}

// WriteJSON writes r as indented JSON to path.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
