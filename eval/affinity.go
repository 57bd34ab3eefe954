package eval

import (
	"fmt"
	"math"
)

// AffinityScore compares an estimated class affinity with a ground truth.
type AffinityScore struct {
	// Top1 is the fraction of target classes (rows) whose most likely source
	// class is also a most likely source class of the ground truth (ties in
	// the ground truth count any of the tied classes as right).
	Top1 float64 `json:"top1"`
	// MeanTV is the mean over rows of the total-variation distance
	// 0.5 * sum_s |est[t][s] - truth[t][s]|, in [0, 1].
	MeanTV float64 `json:"mean_tv"`
	Rows   int     `json:"rows"`
}

// ScoreAffinity scores est against truth, both T x S with rows summing to 1
// (within 1e-3; rows are not renormalized). Errors say which row is bad.
func ScoreAffinity(est, truth [][]float64) (AffinityScore, error) {
	if len(est) == 0 || len(est) != len(truth) {
		return AffinityScore{}, fmt.Errorf("eval: affinity with %d estimated and %d true rows", len(est), len(truth))
	}
	s := len(est[0])
	check := func(what string, m [][]float64) error {
		for t, row := range m {
			if len(row) != s || s == 0 {
				return fmt.Errorf("eval: %s affinity row %d has %d columns, want %d", what, t, len(row), s)
			}
			sum := 0.0
			for _, v := range row {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("eval: %s affinity row %d holds %v", what, t, v)
				}
				sum += v
			}
			if math.Abs(sum-1) > 1e-3 {
				return fmt.Errorf("eval: %s affinity row %d sums to %g, not 1", what, t, sum)
			}
		}
		return nil
	}
	if err := check("estimated", est); err != nil {
		return AffinityScore{}, err
	}
	if err := check("true", truth); err != nil {
		return AffinityScore{}, err
	}
	var hits, tv float64
	for t := range est {
		best := 0
		for j, v := range est[t] {
			if v > est[t][best] {
				best = j
			}
		}
		tmax := 0.0
		for _, v := range truth[t] {
			tmax = math.Max(tmax, v)
		}
		if truth[t][best] >= tmax-1e-12 {
			hits++
		}
		d := 0.0
		for j := range est[t] {
			d += math.Abs(est[t][j] - truth[t][j])
		}
		tv += d / 2
	}
	n := float64(len(est))
	return AffinityScore{Top1: hits / n, MeanTV: tv / n, Rows: len(est)}, nil
}
