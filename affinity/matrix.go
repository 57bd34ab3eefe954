// Package affinity estimates, combines, stores and applies class affinity
// matrices (class affinity transfer, docs/AFFINITY.md): A (T x S) relates each of
// the T classes of a target dataset to the S classes of a source model, row t
// being a distribution over source classes. Estimators: text (class-name word
// vectors), segmentation (a source-class segmenter run on target images) and
// vision (class prototypes of a frozen feature extractor). The Layer puts A in
// front of a source network as a bias-free 1x1 mixing of the label map.
package affinity

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// RowSumTolerance is how far a row's sum may stray from 1 before Validate
// renormalises it (and says so in a warning). Rounded JSON (6 decimals) over
// a few hundred source classes stays well inside it.
const RowSumTolerance = 1e-3

// Matrix is a class affinity matrix: W[t][s] is the weight of source class
// Source[s] for target class Target[t]. A valid matrix has unique non-empty
// names, T x S finite non-negative entries and rows summing to 1.
type Matrix struct {
	Target []string
	Source []string
	W      [][]float64
	// Meta holds free-form provenance ("method", "temperature", ...),
	// written to and read from JSON.
	Meta map[string]string
}

// NewMatrix returns a T x S zero matrix with copies of the name lists.
func NewMatrix(target, source []string) *Matrix {
	m := &Matrix{Target: append([]string(nil), target...), Source: append([]string(nil), source...)}
	m.W = make([][]float64, len(target))
	for i := range m.W {
		m.W[i] = make([]float64, len(source))
	}
	return m
}

// Clone returns a deep copy.
func (m *Matrix) Clone() *Matrix {
	c := NewMatrix(m.Target, m.Source)
	for t := range m.W {
		copy(c.W[t], m.W[t])
	}
	if m.Meta != nil {
		c.Meta = map[string]string{}
		for k, v := range m.Meta {
			c.Meta[k] = v
		}
	}
	return c
}

// T is the number of target classes, S the number of source classes.
func (m *Matrix) T() int { return len(m.Target) }

// S is the number of source classes.
func (m *Matrix) S() int { return len(m.Source) }

// SetUniform makes row t uniform: what an estimator says of a target class
// it knows nothing about.
func (m *Matrix) SetUniform(t int) {
	for s := range m.W[t] {
		m.W[t][s] = 1 / float64(len(m.W[t]))
	}
}

// SetMeta records a provenance entry.
func (m *Matrix) SetMeta(k, v string) {
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	m.Meta[k] = v
}

// Flat returns W row-major as float32 (T*S), as the Layer and checkpoints
// store it.
func (m *Matrix) Flat() []float32 {
	out := make([]float32, 0, m.T()*m.S())
	for _, row := range m.W {
		for _, v := range row {
			out = append(out, float32(v))
		}
	}
	return out
}

// checkNames reports an empty, padded or duplicate name in a class list.
func checkNames(what string, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("affinity: no %s classes", what)
	}
	seen := map[string]int{}
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("affinity: %s class %d has an empty name", what, i)
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("affinity: %s class %q appears twice (indices %d and %d)", what, n, j, i)
		}
		seen[n] = i
	}
	return nil
}

// Validate checks names, shape and entries, and renormalises rows whose sum
// is off by more than RowSumTolerance (rows within it are renormalised
// silently). It returns one warning per row it had to fix. Errors: duplicate
// or empty names, a shape that does not match the name lists, a negative,
// NaN or infinite entry, and an all-zero row (a target class must map to at
// least one source class).
func (m *Matrix) Validate() (warnings []string, err error) {
	if err := checkNames("target", m.Target); err != nil {
		return nil, err
	}
	if err := checkNames("source", m.Source); err != nil {
		return nil, err
	}
	if len(m.W) != len(m.Target) {
		return nil, fmt.Errorf("affinity: matrix has %d rows for %d target classes", len(m.W), len(m.Target))
	}
	for t, row := range m.W {
		if len(row) != len(m.Source) {
			return nil, fmt.Errorf("affinity: row %q has %d entries for %d source classes", m.Target[t], len(row), len(m.Source))
		}
		sum, max := 0.0, 0.0
		for s, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("affinity: entry [%q][%q] is %v", m.Target[t], m.Source[s], v)
			}
			if v < 0 {
				return nil, fmt.Errorf("affinity: entry [%q][%q] is negative (%g): weights must be >= 0", m.Target[t], m.Source[s], v)
			}
			sum += v
			max = math.Max(max, v)
		}
		if math.IsInf(sum, 1) {
			// Finite weights whose sum overflows: scale by the largest
			// first, or every entry would divide to 0 (an empty row).
			sum = 0
			for s := range row {
				row[s] /= max
				sum += row[s]
			}
		}
		if sum == 0 {
			return nil, fmt.Errorf("affinity: row %q is empty (all weights 0): give it at least one source class", m.Target[t])
		}
		if math.Abs(sum-1) > RowSumTolerance {
			warnings = append(warnings, fmt.Sprintf("row %q summed to %.6g; normalised to 1", m.Target[t], sum))
		}
		for s := range row {
			row[s] /= sum
		}
	}
	return warnings, nil
}

// CheckClasses verifies that the matrix speaks the given vocabularies, in the
// same order: target as a dataset lists its classes, source as a model's
// checkpoint does. The error names the first differences.
func (m *Matrix) CheckClasses(target, source []string) error {
	if err := sameNames("target", m.Target, target); err != nil {
		return err
	}
	return sameNames("source", m.Source, source)
}

func sameNames(what string, have, want []string) error {
	var diffs []string
	hs, ws := map[string]bool{}, map[string]bool{}
	for _, n := range have {
		hs[n] = true
	}
	for _, n := range want {
		ws[n] = true
		if !hs[n] {
			diffs = append(diffs, fmt.Sprintf("missing %q", n))
		}
	}
	for _, n := range have {
		if !ws[n] {
			diffs = append(diffs, fmt.Sprintf("unknown %q", n))
		}
	}
	if len(diffs) == 0 && len(have) == len(want) {
		for i := range have {
			if have[i] != want[i] {
				return fmt.Errorf("affinity: %s classes are in a different order: position %d is %q in the matrix, %q expected (use Reorder)", what, i, have[i], want[i])
			}
		}
		return nil
	}
	if len(diffs) > 8 {
		diffs = append(diffs[:8], fmt.Sprintf("... (%d more)", len(diffs)-8))
	}
	return fmt.Errorf("affinity: %s classes do not match (matrix %d, expected %d): %s", what, len(have), len(want), strings.Join(diffs, ", "))
}

// Reorder returns the matrix with rows and columns in the order of the given
// name lists, which must hold exactly the matrix's names (any order).
func (m *Matrix) Reorder(target, source []string) (*Matrix, error) {
	ti, si := index(m.Target), index(m.Source)
	if len(target) != len(m.Target) || len(source) != len(m.Source) {
		return nil, m.CheckClasses(target, source)
	}
	out := NewMatrix(target, source)
	out.Meta = m.Clone().Meta
	for t, tn := range target {
		i, ok := ti[tn]
		if !ok {
			return nil, m.CheckClasses(target, source)
		}
		for s, sn := range source {
			j, ok := si[sn]
			if !ok {
				return nil, m.CheckClasses(target, source)
			}
			out.W[t][s] = m.W[i][j]
		}
	}
	return out, nil
}

func index(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

// Entry is one source class of a row with its weight.
type Entry struct {
	Source string
	Weight float64
}

// TopK returns row t's k largest entries, heaviest first (ties in source
// order); k <= 0 means all non-zero entries.
func (m *Matrix) TopK(t, k int) []Entry {
	row := m.W[t]
	idx := make([]int, 0, len(row))
	for s, v := range row {
		if v > 0 {
			idx = append(idx, s)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	if k > 0 && len(idx) > k {
		idx = idx[:k]
	}
	out := make([]Entry, len(idx))
	for i, s := range idx {
		out[i] = Entry{m.Source[s], row[s]}
	}
	return out
}

// Argmax returns the index of row t's largest entry (first on ties).
func (m *Matrix) Argmax(t int) int {
	best := 0
	for s, v := range m.W[t] {
		if v > m.W[t][best] {
			best = s
		}
	}
	return best
}
