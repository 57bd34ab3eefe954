package affinity

import (
	"math"
	"strings"
	"testing"
)

func mat(target, source []string, w [][]float64, method string) *Matrix {
	m := NewMatrix(target, source)
	for i := range w {
		copy(m.W[i], w[i])
	}
	m.SetMeta("method", method)
	return m
}

func TestCombine(t *testing.T) {
	tn, sn := []string{"a", "b"}, []string{"x", "y", "z"}
	p := mat(tn, sn, [][]float64{{0.5, 0.5, 0}, {0, 0, 1}}, "text")
	q := mat(tn, sn, [][]float64{{1, 0, 0}, {0, 0.5, 0.5}}, "seg")
	cases := []struct {
		rule    string
		weights []float64
		want    [][]float64
	}{
		{"", nil, [][]float64{{0.75, 0.25, 0}, {0, 0.25, 0.75}}},
		{CombineMean, nil, [][]float64{{0.75, 0.25, 0}, {0, 0.25, 0.75}}},
		{CombineWeighted, []float64{3, 1}, [][]float64{{0.625, 0.375, 0}, {0, 0.125, 0.875}}},
		{CombineWeighted, []float64{0, 1}, [][]float64{{1, 0, 0}, {0, 0.5, 0.5}}},
	}
	for _, c := range cases {
		m, err := Combine(c.rule, []*Matrix{p, q}, c.weights)
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			for j := range c.want[i] {
				if !near(m.W[i][j], c.want[i][j], 1e-12) {
					t.Errorf("%s %v: W[%d][%d] = %v, want %v", c.rule, c.weights, i, j, m.W[i][j], c.want[i][j])
				}
			}
		}
		if !strings.Contains(m.Meta["method"], "text, seg") {
			t.Errorf("method meta %q", m.Meta["method"])
		}
	}
	// Product: row a: x gets 0.5*1, y gets 0.5*floor, z floor*floor -> x wins;
	// row b has no common support but stays a distribution thanks to the floor.
	m, err := Combine(CombineProduct, []*Matrix{p, q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantA := []float64{0.5, 0.5 * ProductFloor, ProductFloor * ProductFloor}
	normalizeRows([][]float64{wantA})
	for j := range wantA {
		if !near(m.W[0][j], wantA[j], 1e-12) {
			t.Errorf("product row a[%d] = %v, want %v", j, m.W[0][j], wantA[j])
		}
	}
	sum := 0.0
	for _, v := range m.W[1] {
		sum += v
	}
	if !near(sum, 1, 1e-12) || m.Argmax(1) != 2 {
		t.Errorf("product row b = %v: want a distribution with z heaviest", m.W[1])
	}
}

func TestCombineErrors(t *testing.T) {
	a := mat([]string{"a"}, []string{"x", "y"}, [][]float64{{1, 0}}, "")
	b := mat([]string{"a"}, []string{"y", "x"}, [][]float64{{1, 0}}, "")
	cases := []struct {
		name    string
		rule    string
		ms      []*Matrix
		weights []float64
		want    string
	}{
		{"none", "", nil, nil, "no estimates"},
		{"classes", "", []*Matrix{a, b}, nil, "different order"},
		{"rule", "max", []*Matrix{a, a}, nil, "unknown rule"},
		{"weights count", CombineWeighted, []*Matrix{a, a}, []float64{1}, "1 weights for 2"},
		{"negative weight", CombineWeighted, []*Matrix{a, a}, []float64{1, -1}, ">= 0"},
		{"zero weights", CombineWeighted, []*Matrix{a, a}, []float64{0, 0}, "all weights are 0"},
	}
	for _, c := range cases {
		_, err := Combine(c.rule, c.ms, c.weights)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSparsifyAndSharpen(t *testing.T) {
	m := mat([]string{"a"}, []string{"w", "x", "y", "z"}, [][]float64{{0.4, 0.3, 0.2, 0.1}}, "")
	top := TopKRows(m, 2)
	if !near(top.W[0][0], 4.0/7, 1e-12) || !near(top.W[0][1], 3.0/7, 1e-12) || top.W[0][2] != 0 || top.W[0][3] != 0 {
		t.Errorf("TopKRows(2) = %v", top.W[0])
	}
	sh, err := Sharpen(m, 0.5) // squares then renormalises
	if err != nil {
		t.Fatal(err)
	}
	if !near(sh.W[0][0], 0.16/0.30, 1e-12) {
		t.Errorf("Sharpen(0.5) = %v", sh.W[0])
	}
	id, _ := Sharpen(m, 1)
	if !near(id.W[0][2], 0.2, 1e-12) {
		t.Errorf("Sharpen(1) changed the row: %v", id.W[0])
	}
	if _, err := Sharpen(m, 0); err == nil {
		t.Error("Sharpen(0): no error")
	}
	if _, err := SoftmaxRows(m, math.NaN()); err == nil {
		t.Error("SoftmaxRows(NaN): no error")
	}
	scores := mat([]string{"a"}, []string{"w", "x", "y", "z"}, [][]float64{{0.9, 0.5, 0.5, 0.1}}, "")
	ts, err := TopKScores(scores, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ts.W[0][0] != 1 {
		t.Errorf("TopKScores(1) = %v", ts.W[0])
	}
	ts3, _ := TopKScores(scores, 3)
	if ts3.W[0][3] != 0 || !near(ts3.W[0][1], ts3.W[0][2], 0) || ts3.W[0][0] <= ts3.W[0][1] {
		t.Errorf("TopKScores(3) = %v: want z dropped, x = y < w", ts3.W[0])
	}
	if _, err := TopKScores(scores, 0); err == nil {
		t.Error("TopKScores(0): no error")
	}
	sm, _ := SoftmaxRows(scores, 0.1)
	want := math.Exp(0.9/0.1) / (math.Exp(9) + 2*math.Exp(5) + math.Exp(1))
	if !near(sm.W[0][0], want, 1e-12) {
		t.Errorf("SoftmaxRows = %v, want w = %v", sm.W[0], want)
	}
}
