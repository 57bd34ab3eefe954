package report

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"

	"catsynth/affinity"
	"catsynth/dataset"
)

// Page is what the HTML report shows besides the numbers of Results.
type Page struct {
	Title string // default "catsynth evaluation"
	// Samples and Classes draw the sample grid (none without samples);
	// SeedNames head the generated columns ("seed 1", ...).
	Samples   []SampleRow
	Classes   []dataset.Class
	SeedNames []string
	// Cell is the picture size in the grid in pixels (default 128).
	Cell int
	// Affinity, when set, is drawn as a heatmap with class names on both
	// axes (affinity.Matrix.WriteHeatmapPNG).
	Affinity      *affinity.Matrix
	AffinityTitle string
}

// Files written by Write, relative to its folder.
const (
	FileHTML     = "index.html"
	FileJSON     = "results.json"
	FileIoU      = "miou.png"
	FileSamples  = "samples.png"
	FileAffinity = "affinity.png"
)

type kv struct{ K, V string }

type classRow struct {
	Class, IoU, Ceiling string
}

type view struct {
	Title    string
	Metrics  []kv
	Notes    []string
	Classes  []classRow
	IoU      string
	Samples  string
	Affinity string
	AffTitle string
	Files    []string
}

// Write renders the report into dir (created if needed): index.html (static,
// inline CSS, relative links to the PNGs beside it), results.json, and the
// PNGs: miou.png (per-class IoU bars, when r.MIoU is set), samples.png
// (when p.Samples is set) and affinity.png (when p.Affinity is set). It
// returns the paths written.
func Write(dir string, r *Results, p Page) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if p.Title == "" {
		p.Title = "catsynth evaluation"
	}
	if p.Cell == 0 {
		p.Cell = 128
	}
	var written []string
	v := view{Title: p.Title}
	if r.Report != nil {
		v.Metrics, v.Notes = metricRows(r)
	}
	if m := r.MIoU; m != nil {
		bars := make([]Bar, len(m.PerClass))
		for i, c := range m.PerClass {
			bars[i] = Bar{Label: c.Class, Value: c.IoU}
			row := classRow{Class: c.Class, IoU: fmtIoU(c.IoU), Ceiling: "-"}
			if m.Ceiling != nil && i < len(m.Ceiling.PerClass) {
				bars[i].Ceiling = m.Ceiling.PerClass[i].IoU
				row.Ceiling = fmtIoU(m.Ceiling.PerClass[i].IoU)
			}
			v.Classes = append(v.Classes, row)
		}
		title := fmt.Sprintf("Per-class IoU (mIoU %.3f)", m.MeanIoU)
		if err := WritePNG(filepath.Join(dir, FileIoU), IoUChart(title, bars)); err != nil {
			return written, err
		}
		written = append(written, FileIoU)
		v.IoU = FileIoU
	}
	if len(p.Samples) > 0 {
		if err := WritePNG(filepath.Join(dir, FileSamples), SampleGrid(p.Samples, p.Classes, p.SeedNames, p.Cell)); err != nil {
			return written, err
		}
		written = append(written, FileSamples)
		v.Samples = FileSamples
	}
	if p.Affinity != nil {
		t := p.AffinityTitle
		if t == "" {
			t = "Class affinity (target rows, source columns)"
		}
		if err := p.Affinity.WriteHeatmapPNG(filepath.Join(dir, FileAffinity), t); err != nil {
			return written, err
		}
		written = append(written, FileAffinity)
		v.Affinity, v.AffTitle = FileAffinity, t
	}
	if err := r.WriteJSON(filepath.Join(dir, FileJSON)); err != nil {
		return written, err
	}
	written = append(written, FileJSON)
	v.Files = append(append([]string(nil), written...), FileHTML)
	f, err := os.Create(filepath.Join(dir, FileHTML))
	if err != nil {
		return written, err
	}
	if err := page.Execute(f, v); err != nil {
		f.Close()
		return written, err
	}
	if err := f.Close(); err != nil {
		return written, err
	}
	return append(written, FileHTML), nil
}

// metricRows lists the eval report's numbers as the table prints them.
func metricRows(r *Results) ([]kv, []string) {
	e := r.Report
	var rows []kv
	add := func(k, v string) { rows = append(rows, kv{k, v}) }
	if e.FeatureNetwork != "" {
		fn := e.FeatureNetwork
		if e.FeatureDim > 0 {
			fn += fmt.Sprintf(" (%d features)", e.FeatureDim)
		}
		add("feature network", fn)
		if e.FeatureSource != "" {
			add("feature source", e.FeatureSource)
		}
	}
	if e.Backend != "" {
		add("backend", e.Backend)
	}
	if e.Real != "" {
		add("real images", fmt.Sprintf("%s (%d)", e.Real, e.NumReal))
		add("generated images", fmt.Sprintf("%s (%d)", e.Generated, e.NumGenerated))
	}
	if e.KID != nil {
		add("KID ×1000", fmt.Sprintf("%.3f ± %.3f (%d subsets of %d)", 1000*e.KID.Mean, 1000*e.KID.Std, e.KID.Subsets, e.KID.SubsetSize))
	}
	if e.FID != nil {
		add("FID", fmt.Sprintf("%.3f", *e.FID))
	}
	if m := r.MIoU; m != nil {
		add("segmenter", fmt.Sprintf("%s (%d px)", m.Segmenter, m.Size))
		if m.SegmenterData != "" {
			add("segmenter trained on", m.SegmenterData)
		}
		add("mIoU images", fmt.Sprintf("%s (%d files, %d images) vs labels %s", m.Generated, m.Images, m.Tiles, m.Labels))
		add("mIoU", fmt.Sprintf("%.4f (mean over %d classes present in truth or prediction)", m.MeanIoU, m.ClassesScored))
		add("pixel accuracy", fmt.Sprintf("%.4f", m.PixelAccuracy))
		if m.Ceiling != nil {
			add("mIoU ceiling", fmt.Sprintf("%.4f (segmenter on real held-out images)", m.Ceiling.MeanIoU))
		}
	}
	if a := e.Affinity; a != nil {
		add("affinity top-1", fmt.Sprintf("%.4f (%d target classes)", a.Top1, a.Rows))
		add("affinity mean TV", fmt.Sprintf("%.4f", a.MeanTV))
	}
	if e.Seconds > 0 {
		add("time", fmt.Sprintf("%.1f s", e.Seconds))
	}
	if !e.Time.IsZero() {
		add("date", e.Time.Format("2006-01-02 15:04 UTC"))
	}
	return rows, e.Notes
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 4px 0 18px; }
h2 { font-size: 19px; margin: 30px 0 10px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
section { background: #fff; border: 1px solid #e3e5ea; border-radius: 8px; padding: 6px 20px 18px; margin-bottom: 18px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 4px 14px 4px 0; text-align: left; vertical-align: top; }
th { color: #555; font-weight: 600; white-space: nowrap; }
table.classes td.num, table.classes th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.classes tr:nth-child(even) td { background: #f7f8fa; }
img { max-width: 100%; height: auto; border: 1px solid #e3e5ea; image-rendering: auto; }
.note { color: #8a5a00; }
.files, .foot { color: #666; font-size: 13px; }
.cols { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Metrics}}<section><h2>Metrics</h2>
<table>{{range .Metrics}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>{{end}}</table>
{{range .Notes}}<p class="note">Note: {{.}}</p>{{end}}
<p class="foot">FID and KID are only comparable between reports that name the same feature network.
mIoU averages the classes present in the label maps or the predictions; classes absent from both are left out.</p>
</section>{{end}}
{{if .Classes}}<section><h2>Per-class IoU</h2>
<div class="cols">
{{if .IoU}}<div><img src="{{.IoU}}" alt="per-class IoU bar chart"></div>{{end}}
<table class="classes"><tr><th>class</th><th class="num">IoU</th><th class="num">ceiling</th></tr>
{{range .Classes}}<tr><td>{{.Class}}</td><td class="num">{{.IoU}}</td><td class="num">{{.Ceiling}}</td></tr>{{end}}
</table></div>
<p class="foot">"-": the class occurs in neither the label maps nor the predictions. Ceiling: the segmenter on real held-out images.</p>
</section>{{end}}
{{if .Samples}}<section><h2>Samples</h2>
<p>Label map, real image, and images generated from the label map.</p>
<img src="{{.Samples}}" alt="sample grid">
</section>{{end}}
{{if .Affinity}}<section><h2>Class affinity</h2>
<img src="{{.Affinity}}" alt="{{.AffTitle}}">
</section>{{end}}
<p class="files">Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}<a href="{{$f}}">{{$f}}</a>{{end}}</p>
</main></body></html>
`))
