package affinity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// constEstimate returns an estimator that gives a one-hot A pointing every
// target at source column col.
func constEstimate(target, source []string, col int) EstimateFunc {
	return func(context.Context) (*Matrix, []string, error) {
		m := NewMatrix(target, source)
		for t := range m.W {
			m.W[t][col] = 1
		}
		return m, []string{fmt.Sprintf("note from column %d", col)}, nil
	}
}

func failing(err error) EstimateFunc {
	return func(context.Context) (*Matrix, []string, error) { return nil, nil, err }
}

// TestEstimateOrchestration: one method runs alone and fails with its
// error; combined leaves out what fails or is unavailable (naming it) and
// averages the rest; nothing left is an error; unknown methods are refused.
func TestEstimateOrchestration(t *testing.T) {
	target, source := []string{"a", "b"}, []string{"x", "y", "z"}
	boom := errors.New("boom")
	cases := []struct {
		name     string
		method   string
		run      map[string]EstimateFunc
		wantErr  string
		wantCol0 float64 // W[0][0] of the result
		wantMeta string
		warnLike string
	}{
		{"text alone", MethodText, map[string]EstimateFunc{MethodText: constEstimate(target, source, 0)}, "", 1, MethodText, "note from column 0"},
		{"seg fails alone", MethodSeg, map[string]EstimateFunc{MethodSeg: failing(boom)}, "seg estimate: boom", 0, "", ""},
		{"seg missing", MethodSeg, map[string]EstimateFunc{}, "not available", 0, "", ""},
		{"unknown", "magic", nil, `unknown estimate method "magic"`, 0, "", ""},
		{"combined mean", MethodCombined, map[string]EstimateFunc{MethodText: constEstimate(target, source, 0), MethodVision: constEstimate(target, source, 1)},
			"", 0.5, "combined(mean: text, vision)", "note from column 1"},
		{"combined leaves out", MethodCombined, map[string]EstimateFunc{MethodText: constEstimate(target, source, 0),
			MethodSeg: failing(Unavailable("no segmenter")), MethodVision: failing(boom)}, "", 1, "combined (text)", "vision estimate left out: boom"},
		{"combined none", MethodCombined, map[string]EstimateFunc{MethodSeg: failing(Unavailable("no segmenter"))}, "no estimator could run: seg estimate left out: not available: no segmenter", 0, "", ""},
		{"default is combined", "", map[string]EstimateFunc{MethodText: constEstimate(target, source, 2)}, "", 0, "combined (text)", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, warn, err := Estimate(context.Background(), c.method, c.run, EstimateOptions{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.W[0][0] != c.wantCol0 || m.Meta["method"] != c.wantMeta {
				t.Errorf("W[0][0] %v method %q, want %v %q", m.W[0][0], m.Meta["method"], c.wantCol0, c.wantMeta)
			}
			if c.warnLike != "" && !strings.Contains(strings.Join(warn, "|"), c.warnLike) {
				t.Errorf("warnings %q lack %q", warn, c.warnLike)
			}
		})
	}
	// Weights apply by method name.
	m, _, err := Estimate(context.Background(), MethodCombined, map[string]EstimateFunc{
		MethodText: constEstimate(target, source, 0), MethodSeg: constEstimate(target, source, 1)},
		EstimateOptions{Combine: CombineWeighted, Weights: map[string]float64{MethodSeg: 3}})
	if err != nil || m.W[0][0] != 0.25 || m.W[0][1] != 0.75 {
		t.Errorf("weighted: %v, row %v", err, m.W[0])
	}
}

// TestTextRows: an unknown target word gives a uniform row and a warning
// naming it; an unknown source word fails the estimate.
func TestTextRows(t *testing.T) {
	e := loadGlove(t)
	m, warn, err := TextRows(e, []string{"ocean", "zqxvbnmw"}, []string{"sea", "sky", "road"}, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "zqxvbnmw") || m.W[1][0] != 1.0/3 {
		t.Errorf("warnings %q, row %v", warn, m.W[1])
	}
	if top := m.W[0][0]; top < m.W[0][2] {
		t.Errorf("ocean row %v does not prefer sea over road", m.W[0])
	}
	if _, _, err := TextRows(e, []string{"ocean"}, []string{"sea", "zqxvbnmw"}, TextOptions{}); err == nil || !strings.Contains(err.Error(), "source class") {
		t.Errorf("unknown source word: %v", err)
	}
}
