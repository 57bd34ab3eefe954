package affinity

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Estimator methods.
const (
	MethodText     = "text"
	MethodSeg      = "seg"
	MethodVision   = "vision"
	MethodCombined = "combined" // every estimator whose inputs are at hand, combined
	// DefaultMethod is what the CLI, transfer and the page estimate with
	// when not told otherwise.
	DefaultMethod = MethodCombined
)

// Methods are the single estimators, in the order Estimate runs them.
var Methods = []string{MethodText, MethodVision, MethodSeg}

// ErrUnavailable marks an estimator whose inputs are missing (no
// segmenter, no stored prototypes, no images): combined leaves it out with
// a note, a single method fails with it.
var ErrUnavailable = errors.New("not available")

// Unavailable returns an error wrapping ErrUnavailable with a reason.
func Unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

// EstimateFunc computes one estimate of A (target x source, in the
// caller's class order) and its warnings.
type EstimateFunc func(ctx context.Context) (*Matrix, []string, error)

// EstimateOptions configure Estimate.
type EstimateOptions struct {
	// Combine is the rule for combined (CombineMean when empty).
	Combine string
	// Weights of the estimators by method for CombineWeighted (1 when absent).
	Weights map[string]float64
}

// Estimate is the one estimate orchestration of the CLI and the page: it
// runs method's estimator, or for MethodCombined every estimator of run
// (in Methods order) and combines those that ran. With combined, an
// estimator that fails or is unavailable is left out and named in the
// warnings, so one missing input never sinks the estimate; a single method
// returns its error. The matrix's "method" metadata says what was used
// ("combined(mean: text, vision, seg)", or "combined (text)" when one ran).
func Estimate(ctx context.Context, method string, run map[string]EstimateFunc, o EstimateOptions) (*Matrix, []string, error) {
	if method == "" {
		method = DefaultMethod
	}
	if method != MethodCombined {
		f, ok := run[method]
		if !ok {
			if !isMethod(method) {
				return nil, nil, fmt.Errorf("unknown estimate method %q (want %s or %s)", method, strings.Join(Methods, ", "), MethodCombined)
			}
			return nil, nil, fmt.Errorf("%s estimate: %w", method, Unavailable("this program cannot run it"))
		}
		m, w, err := f(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("%s estimate: %w", method, err)
		}
		m.SetMeta("method", method)
		return m, w, nil
	}
	var ms []*Matrix
	var used, warnings []string
	var weights []float64
	for _, name := range Methods {
		f, ok := run[name]
		if !ok {
			continue
		}
		m, w, err := f(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			warnings = append(warnings, fmt.Sprintf("%s estimate left out: %v", name, err))
			continue
		}
		m.SetMeta("method", name)
		ms, used, warnings = append(ms, m), append(used, name), append(warnings, w...)
		wt, ok := o.Weights[name]
		if !ok {
			wt = 1
		}
		weights = append(weights, wt)
	}
	if len(ms) == 0 {
		return nil, warnings, fmt.Errorf("no estimator could run: %s", strings.Join(warnings, "; "))
	}
	if len(ms) == 1 {
		ms[0].SetMeta("method", MethodCombined+" ("+used[0]+")")
		return ms[0], warnings, nil
	}
	m, err := Combine(o.Combine, ms, weights) // its "method" names the rule and the estimates
	if err != nil {
		return nil, nil, err
	}
	return m, warnings, nil
}

func isMethod(m string) bool {
	for _, x := range Methods {
		if x == m {
			return true
		}
	}
	return false
}

// TextRows estimates A from class names row by row, for the CLI and the
// page alike: a run-together word the table lacks is read as the words it
// splits into (CompoundParts, with a warning saying so); a target name with
// a word that still is not in the table gets a uniform row and a warning
// naming the word (instead of failing the whole estimate, and with it
// --method combined); the source names must all embed.
func TextRows(e *Embeddings, target, source []string, o TextOptions) (*Matrix, []string, error) {
	var warnings []string
	// A source name the table lacks spoils every row: that fails.
	for _, s := range source {
		if _, err := NameVector(e, s, o.Aliases); err != nil {
			return nil, nil, fmt.Errorf("source class %q: %w", s, err)
		}
		warnings = append(warnings, NameNotes(e, s, o.Aliases)...)
	}
	m := NewMatrix(target, source)
	for t, name := range target {
		warnings = append(warnings, NameNotes(e, name, o.Aliases)...)
		row, err := TextEstimate(e, []string{name}, source, o)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v; row set to uniform, edit it by hand", name, err))
			m.SetUniform(t)
			continue
		}
		copy(m.W[t], row.W[0])
		for k, v := range row.Meta {
			m.SetMeta(k, v)
		}
	}
	m.SetMeta("method", MethodText)
	return m, warnings, nil
}
