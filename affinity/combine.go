package affinity

import (
	"fmt"
	"math"
	"strings"
)

// Combination rules for several estimates of A (the paper does not say which
// rule it used; the mean is our default).
const (
	CombineMean     = "mean"     // (1/n) sum_i A_i
	CombineProduct  = "product"  // row-renormalised prod_i max(A_i, ProductFloor)
	CombineWeighted = "weighted" // sum_i w_i A_i / sum_i w_i
)

// ProductFloor is the value each entry is raised to before the product rule
// multiplies the estimates. Without it, one estimator that gives a source
// class exactly 0 (top-k sparsification does) vetoes it whatever the others
// say, and a row where the estimators' supports do not overlap would become
// all zeros. With the floor such a row degrades to the normalised product of
// the surviving evidence instead.
const ProductFloor = 1e-4

// Combine merges estimates of the same classes (same target and source
// lists, in the same order) into one row-stochastic matrix. rule is
// CombineMean (also ""), CombineProduct or CombineWeighted; weights (one per
// estimate, >= 0, not all 0) are used by CombineWeighted only.
func Combine(rule string, ms []*Matrix, weights []float64) (*Matrix, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("affinity: combine: no estimates")
	}
	for i, m := range ms[1:] {
		if err := m.CheckClasses(ms[0].Target, ms[0].Source); err != nil {
			return nil, fmt.Errorf("affinity: combine: estimate %d: %w", i+1, err)
		}
	}
	out := NewMatrix(ms[0].Target, ms[0].Source)
	var names []string
	for _, m := range ms {
		if v := m.Meta["method"]; v != "" {
			names = append(names, v)
		}
	}
	switch rule {
	case "", CombineMean, CombineWeighted:
		w := make([]float64, len(ms))
		for i := range w {
			w[i] = 1
		}
		if rule == CombineWeighted {
			if len(weights) != len(ms) {
				return nil, fmt.Errorf("affinity: combine: %d weights for %d estimates", len(weights), len(ms))
			}
			tot := 0.0
			for _, v := range weights {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("affinity: combine: weight %v must be finite and >= 0", v)
				}
				tot += v
			}
			if tot == 0 {
				return nil, fmt.Errorf("affinity: combine: all weights are 0")
			}
			copy(w, weights)
		}
		for i, m := range ms {
			for t := range out.W {
				for s := range out.W[t] {
					out.W[t][s] += w[i] * m.W[t][s]
				}
			}
		}
	case CombineProduct:
		for t := range out.W {
			for s := range out.W[t] {
				logp := 0.0
				for _, m := range ms {
					logp += math.Log(math.Max(m.W[t][s], ProductFloor))
				}
				out.W[t][s] = logp
			}
			softmaxRow(out.W[t], 1)
		}
	default:
		return nil, fmt.Errorf("affinity: combine: unknown rule %q (want mean, product or weighted)", rule)
	}
	if rule != CombineProduct {
		normalizeRows(out.W)
	}
	if rule == "" {
		rule = CombineMean
	}
	out.SetMeta("method", "combined("+rule+": "+strings.Join(names, ", ")+")")
	return out, nil
}

// normalizeRows divides each row by its sum (rows summing to 0 stay 0).
func normalizeRows(w [][]float64) {
	for _, row := range w {
		s := 0.0
		for _, v := range row {
			s += v
		}
		if s > 0 {
			for i := range row {
				row[i] /= s
			}
		}
	}
}

// softmaxRow replaces scores by softmax(scores / temperature), in place.
func softmaxRow(row []float64, temperature float64) {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, v)
	}
	s := 0.0
	for i, v := range row {
		row[i] = math.Exp((v - mx) / temperature)
		s += row[i]
	}
	for i := range row {
		row[i] /= s
	}
}

// SoftmaxRows turns a score matrix (e.g. cosine similarities, in [-1, 1])
// into a row-stochastic one: row t becomes softmax(scores[t] / temperature).
// A small temperature sharpens towards the argmax. temperature must be > 0.
func SoftmaxRows(scores *Matrix, temperature float64) (*Matrix, error) {
	if !(temperature > 0) || math.IsInf(temperature, 0) {
		return nil, fmt.Errorf("affinity: temperature %v must be a positive number", temperature)
	}
	out := scores.Clone()
	for _, row := range out.W {
		softmaxRow(row, temperature)
	}
	return out, nil
}

// TopKRows keeps the k largest entries of every row (ties broken by source
// order) and renormalises them; k <= 0 or k >= S returns a copy. For a score
// matrix, apply it after SoftmaxRows (or on its own: scores are shifted to be
// positive first, see TopKScores).
func TopKRows(m *Matrix, k int) *Matrix {
	out := m.Clone()
	if k <= 0 || k >= m.S() {
		return out
	}
	for t := range out.W {
		keep := map[string]bool{}
		for _, e := range m.TopK(t, k) {
			keep[e.Source] = true
		}
		for s, n := range out.Source {
			if !keep[n] {
				out.W[t][s] = 0
			}
		}
	}
	normalizeRows(out.W)
	return out
}

// TopKScores sparsifies a score matrix directly (the paper's alternative to
// the softmax): each row keeps its k highest-scoring source classes with
// weights proportional to score - (k+1)-th score (so the weakest kept class
// still gets a little, and equal scores get equal shares); k must be >= 1.
func TopKScores(scores *Matrix, k int) (*Matrix, error) {
	if k < 1 {
		return nil, fmt.Errorf("affinity: top-k needs k >= 1, got %d", k)
	}
	out := scores.Clone()
	for _, row := range out.W {
		order := argsortDesc(row)
		if k >= len(row) {
			lo := row[order[len(order)-1]]
			for s := range row {
				row[s] = row[s] - lo + 1e-6
			}
		} else {
			floor := row[order[k]]
			keep := make([]bool, len(row))
			for _, s := range order[:k] {
				keep[s] = true
			}
			for s := range row {
				if keep[s] {
					row[s] = row[s] - floor + 1e-6
				} else {
					row[s] = 0
				}
			}
		}
	}
	normalizeRows(out.W)
	return out, nil
}

func argsortDesc(row []float64) []int {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	// insertion sort: rows are short (S <= a few hundred) and stability matters
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && row[idx[j]] > row[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

// Sharpen raises every entry to the power 1/temperature and renormalises
// rows: temperature < 1 sharpens a row-stochastic matrix towards its argmax,
// > 1 flattens it, 1 leaves it unchanged. temperature must be > 0.
func Sharpen(m *Matrix, temperature float64) (*Matrix, error) {
	if !(temperature > 0) || math.IsInf(temperature, 0) {
		return nil, fmt.Errorf("affinity: temperature %v must be a positive number", temperature)
	}
	out := m.Clone()
	for _, row := range out.W {
		for s, v := range row {
			row[s] = math.Pow(v, 1/temperature)
		}
	}
	normalizeRows(out.W)
	return out, nil
}
