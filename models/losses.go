package models

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"catsynth/nn"
)

// Losses are one training step's loss values by name, as a family defines
// them (package gan: "g", "d_real", "d_fake", "label_mix"). They are kept in
// state files as JSON objects, so a trace resumes with the run.
type Losses map[string]float32

// String lists the losses in name order ("d_fake 0.61 d_real 0.72 g 1.3").
func (l Losses) String() string {
	var b strings.Builder
	for i, k := range LossNames([]Losses{l}) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s %.3g", k, l[k])
	}
	return b.String()
}

// LossNames are the names that occur in a trace, sorted.
func LossNames(trace []Losses) []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range trace {
		for k := range l {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return names
}

// ErrNonFinite is returned (wrapped) by a training step when a loss is NaN
// or infinite; the weights are left as they were before the step.
var ErrNonFinite = errors.New("non-finite loss")

// Finite reads a one-element loss and checks it; what names it in the error.
func Finite(x *nn.Tensor, what string) (float32, error) {
	v, err := x.Item()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return v, fmt.Errorf("%s loss is %v: %w", what, v, ErrNonFinite)
	}
	return v, nil
}
