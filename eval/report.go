package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Report is the result of `catsynth eval`: printed as a table and written
// as JSON. FeatureNetwork is always set: FID/KID values are only comparable
// between reports that name the same network.
type Report struct {
	FeatureNetwork string         `json:"feature_network,omitempty"`
	FeatureSource  string         `json:"feature_source,omitempty"`
	FeatureDim     int            `json:"feature_dim,omitempty"`
	Backend        string         `json:"backend,omitempty"`
	Real           string         `json:"real,omitempty"`
	Generated      string         `json:"generated,omitempty"`
	NumReal        int            `json:"num_real,omitempty"`
	NumGenerated   int            `json:"num_generated,omitempty"`
	FID            *float64       `json:"fid,omitempty"`
	KID            *KIDResult     `json:"kid,omitempty"`
	Affinity       *AffinityScore `json:"affinity,omitempty"`
	Notes          []string       `json:"notes,omitempty"`
	Seconds        float64        `json:"seconds,omitempty"`
	Time           time.Time      `json:"time"`
}

// WriteTable prints the report as an aligned two-column table.
func (r *Report) WriteTable(w io.Writer) {
	row := func(k, v string) { fmt.Fprintf(w, "%-18s %s\n", k, v) }
	if r.FeatureNetwork != "" {
		row("feature network", r.FeatureNetwork)
		if r.FeatureDim > 0 {
			row("feature dim", fmt.Sprint(r.FeatureDim))
		}
	}
	if r.Backend != "" {
		row("backend", r.Backend)
	}
	if r.Real != "" {
		row("real", fmt.Sprintf("%s (%d images)", r.Real, r.NumReal))
		row("generated", fmt.Sprintf("%s (%d images)", r.Generated, r.NumGenerated))
	}
	if r.KID != nil {
		row("KID (x1000)", fmt.Sprintf("%.3f ± %.3f  (%d subsets of %d)", 1000*r.KID.Mean, 1000*r.KID.Std, r.KID.Subsets, r.KID.SubsetSize))
	}
	if r.FID != nil {
		row("FID", fmt.Sprintf("%.3f", *r.FID))
	}
	if r.Affinity != nil {
		row("affinity top-1", fmt.Sprintf("%.4f  (%d target classes)", r.Affinity.Top1, r.Affinity.Rows))
		row("affinity mean TV", fmt.Sprintf("%.4f", r.Affinity.MeanTV))
	}
	for _, n := range r.Notes {
		row("note", n)
	}
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
