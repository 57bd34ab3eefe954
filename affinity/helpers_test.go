package affinity

import (
	"math"
	"sync"
	"testing"

	"catsynth/dataset"
	"catsynth/weights/glove"
)

var gloveTable = sync.OnceValues(func() (*Embeddings, error) {
	return DecodeTable(glove.Table, glove.File)
})

func loadGlove(t testing.TB) *Embeddings {
	t.Helper()
	e, err := gloveTable()
	if err != nil {
		t.Fatalf("default GloVe table: %v", err)
	}
	return e
}

// synthTruth returns a synthetic domain's class names and ground truth.
func synthTruth(t testing.TB, domain string) (target, source []string, truth [][]float64, novel map[string]bool) {
	t.Helper()
	r, err := dataset.SynthRelation(domain)
	if err != nil {
		t.Fatal(err)
	}
	novel = map[string]bool{}
	for _, n := range r.Novel {
		novel[n] = true
	}
	return r.TargetClasses, r.SourceClasses, r.Matrix, novel
}

// scoreAgainst compares an estimate with a ground truth over the rows that
// have one: top-1 accuracy (argmax of the estimate is the heaviest true
// source class) and mean total-variation distance 0.5*sum|A - G|.
func scoreAgainst(m *Matrix, truth [][]float64, novel map[string]bool) (acc, tv float64, rows int) {
	acc, tv, _, rows = scoreAll(m, truth, novel)
	return acc, tv, rows
}

// scoreAll also returns the mean cross-entropy -sum_s G[t,s] log A[t,s]
// (nats; A floored at 1e-12), which punishes an estimate that puts almost
// no weight on a true source class.
func scoreAll(m *Matrix, truth [][]float64, novel map[string]bool) (acc, tv, ce float64, rows int) {
	for t, name := range m.Target {
		if novel[name] {
			continue
		}
		rows++
		best := 0
		for s, v := range truth[t] {
			if v > truth[t][best] {
				best = s
			}
		}
		if truth[t][m.Argmax(t)] == truth[t][best] {
			acc++
		}
		d := 0.0
		for s := range truth[t] {
			d += math.Abs(m.W[t][s] - truth[t][s])
		}
		tv += d / 2
		for s, g := range truth[t] {
			if g > 0 {
				ce -= g * math.Log(math.Max(m.W[t][s], 1e-12))
			}
		}
	}
	n := float64(rows)
	return acc / n, tv / n, ce / n, rows
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
