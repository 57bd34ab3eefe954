package affinity

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzReadJSON: any bytes give a valid matrix (finite, non-negative rows
// summing to 1) or an error that names the file, never a panic; an accepted
// matrix written with WriteJSON reads back to the same weights (to the 6
// decimals WriteJSON keeps).
//
//	go test -run '^$' -fuzz FuzzReadJSON ./affinity
func FuzzReadJSON(f *testing.F) {
	m := NewMatrix([]string{"ocean", "meadow"}, []string{"sea", "grass", "sky"})
	m.W[0] = []float64{0.8, 0, 0.2}
	m.W[1] = []float64{0, 1, 0}
	m.SetMeta("method", "text")
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	for _, s := range []string{
		`{"source":["a","b"],"rows":{"x":{"a":1e308,"b":1e308}}}`,
		`{"source":["a"],"rows":{"x":{"a":-1}}}`,
		`{"source":["a"],"target":["x","y"],"rows":{"x":{"a":1}}}`,
		`{"source":["a","a"],"rows":{"x":{"a":1}}}`,
		`{"source":["a"],"rows":{"x":{"a":NaN}}}`,
		`{"source":["a"],"rows":{"x":{"a":1},"x":{"a":2}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := ReadJSON(bytes.NewReader(data), "a.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "a.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkRows(t, m)
		var out bytes.Buffer
		if err := m.WriteJSON(&out); err != nil {
			t.Fatalf("accepted matrix cannot be written: %v", err)
		}
		again, _, err := ReadJSON(&out, "again.json")
		if err != nil {
			// Rows whose every weight rounds away at 6 decimals are empty
			// when written; WriteJSON keeps the largest entry for that.
			t.Fatalf("written matrix does not read back: %v\n%s", err, out.Bytes())
		}
		for i := range m.W {
			for j, v := range m.W[i] {
				if math.Abs(again.W[i][j]-v) > 1e-5 {
					t.Fatalf("round trip [%q][%q] = %g, want %g", m.Target[i], m.Source[j], again.W[i][j], v)
				}
			}
		}
	})
}

func checkRows(t *testing.T, m *Matrix) {
	t.Helper()
	for i, row := range m.W {
		sum := 0.0
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("row %q holds %v", m.Target[i], v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("row %q sums to %g", m.Target[i], sum)
		}
	}
}

// TestReadJSONRowOverflow is the regression test for a row of finite
// weights whose sum overflows to +Inf: it was normalised to all zeros (an
// empty row the tool itself then refused); it must keep its proportions.
func TestReadJSONRowOverflow(t *testing.T) {
	m, _, err := ReadJSON(strings.NewReader(`{"source":["a","b","c"],"rows":{"x":{"a":1.5e308,"b":1.5e308,"c":0}}}`), "o.json")
	if err != nil {
		t.Fatal(err)
	}
	if w := m.W[0]; math.Abs(w[0]-0.5) > 1e-12 || math.Abs(w[1]-0.5) > 1e-12 || w[2] != 0 {
		t.Fatalf("row %v, want [0.5 0.5 0]", w)
	}
}
