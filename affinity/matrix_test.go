package affinity

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func testRNG(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0xaff))
}

// randomMatrix is a random row-stochastic T x S matrix with some zeros.
func randomMatrix(r *rand.Rand, T, S int) *Matrix {
	var tn, sn []string
	for i := 0; i < T; i++ {
		tn = append(tn, "target "+string(rune('a'+i)))
	}
	for i := 0; i < S; i++ {
		sn = append(sn, "src_"+string(rune('a'+i)))
	}
	m := NewMatrix(tn, sn)
	for t := range m.W {
		for s := range m.W[t] {
			if r.IntN(3) > 0 {
				m.W[t][s] = r.Float64()
			}
		}
		m.W[t][r.IntN(S)] += 0.1
	}
	normalizeRows(m.W)
	return m
}

func TestJSONRoundTrip(t *testing.T) {
	r := testRNG(t)
	m := randomMatrix(r, 5, 7)
	m.SetMeta("method", "test")
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, warn, err := ReadJSON(&b, "round.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(warn) != 0 {
		t.Errorf("warnings on a written matrix: %v", warn)
	}
	if err := back.CheckClasses(m.Target, m.Source); err != nil {
		t.Fatal(err)
	}
	for i := range m.W {
		for j := range m.W[i] {
			if !near(back.W[i][j], m.W[i][j], 2e-6) {
				t.Errorf("W[%d][%d] = %v after round trip, want %v", i, j, back.W[i][j], m.W[i][j])
			}
		}
	}
	if back.Meta["method"] != "test" {
		t.Errorf("meta lost: %v", back.Meta)
	}
}

// TestJSONHandEdited reads a file written the way a user would: sparse rows,
// no target list, rows that do not sum to 1.
func TestJSONHandEdited(t *testing.T) {
	src := `{
	  "source": ["sky", "sea", "water", "sand"],
	  "rows": {
	    "ocean": {"sea": 3, "water": 1},
	    "beach": {"sand": 1},
	    "sky":   {"sky": 0.5, "sea": 0.5}
	  }
	}`
	m, warn, err := ReadJSON(strings.NewReader(src), "edit.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Target, ","); got != "ocean,beach,sky" {
		t.Errorf("target order %q, want the rows' order", got)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], `"ocean"`) {
		t.Errorf("warnings %q, want one about row ocean", warn)
	}
	want := [][]float64{{0, 0.75, 0.25, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0, 0}}
	for i := range want {
		for j := range want[i] {
			if !near(m.W[i][j], want[i][j], 1e-12) {
				t.Errorf("W[%s][%s] = %v, want %v", m.Target[i], m.Source[j], m.W[i][j], want[i][j])
			}
		}
	}
}

func TestJSONErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"not json", `{"source": [`, "affinity JSON"},
		{"no source", `{"rows": {"a": {"b": 1}}}`, `no "source"`},
		{"no rows", `{"source": ["b"]}`, `no "rows"`},
		{"unknown field", `{"source": ["b"], "rows": {"a": {"b": 1}}, "colour": 1}`, "unknown field"},
		{"wrong format", `{"format": "x/2", "source": ["b"], "rows": {"a": {"b": 1}}}`, "format"},
		{"dup source", `{"source": ["b", "b"], "rows": {"a": {"b": 1}}}`, "appears twice"},
		{"dup target", `{"source": ["b"], "target": ["a", "a"], "rows": {"a": {"b": 1}}}`, "appears twice"},
		{"dup row", `{"source": ["b"], "rows": {"a": {"b": 1}, "a": {"b": 2}}}`, `key "a" appears twice`},
		{"dup entry", `{"source": ["b", "c"], "rows": {"a": {"b": 1, "b": 2}}}`, `key "b" appears twice`},
		{"unknown source", `{"source": ["b"], "rows": {"a": {"x": 1}}}`, `"x", which is not a source class`},
		{"unknown target", `{"source": ["b"], "target": ["a"], "rows": {"a": {"b": 1}, "z": {"b": 1}}}`, `row "z" is not a target class`},
		{"missing row", `{"source": ["b"], "target": ["a", "c"], "rows": {"a": {"b": 1}}}`, `"c" has no row`},
		{"negative", `{"source": ["b", "c"], "rows": {"a": {"b": 1, "c": -0.5}}}`, "negative"},
		{"empty row", `{"source": ["b"], "rows": {"a": {}}}`, `row "a" is empty`},
		{"zero row", `{"source": ["b"], "rows": {"a": {"b": 0}}}`, `row "a" is empty`},
		{"not a number", `{"source": ["b"], "rows": {"a": {"b": "high"}}}`, "not a number"},
		{"row not object", `{"source": ["b"], "rows": {"a": [1]}}`, "must be an object"},
		{"empty name", `{"source": [" "], "rows": {"a": {" ": 1}}}`, "empty name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadJSON(strings.NewReader(c.src), "bad.json")
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.json") {
				t.Errorf("error %q, want it to contain %q and the file name", err, c.want)
			}
		})
	}
}

func TestValidateShape(t *testing.T) {
	m := NewMatrix([]string{"a", "b"}, []string{"x", "y"})
	m.W[0][0], m.W[1][1] = 1, 1
	if _, err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	short := m.Clone()
	short.W[1] = short.W[1][:1]
	if _, err := short.Validate(); err == nil || !strings.Contains(err.Error(), "1 entries for 2") {
		t.Errorf("short row: %v", err)
	}
	rows := m.Clone()
	rows.W = rows.W[:1]
	if _, err := rows.Validate(); err == nil || !strings.Contains(err.Error(), "1 rows for 2") {
		t.Errorf("missing row: %v", err)
	}
}

func TestCheckClassesAndReorder(t *testing.T) {
	m := NewMatrix([]string{"a", "b"}, []string{"x", "y", "z"})
	m.W[0] = []float64{0.5, 0.5, 0}
	m.W[1] = []float64{0, 0.25, 0.75}
	if err := m.CheckClasses([]string{"a", "b"}, []string{"x", "y", "z"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, source []string
		want           string
	}{
		{[]string{"a"}, []string{"x", "y", "z"}, `target classes do not match (matrix 2, expected 1): unknown "b"`},
		{[]string{"a", "b"}, []string{"x", "y", "w"}, `missing "w", unknown "z"`},
		{[]string{"b", "a"}, []string{"x", "y", "z"}, "different order"},
	} {
		err := m.CheckClasses(c.target, c.source)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckClasses(%v, %v) = %v, want %q", c.target, c.source, err, c.want)
		}
	}
	r, err := m.Reorder([]string{"b", "a"}, []string{"z", "y", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.W[0][0] != 0.75 || r.W[1][2] != 0.5 {
		t.Errorf("reordered W = %v", r.W)
	}
	if _, err := m.Reorder([]string{"b", "q"}, []string{"z", "y", "x"}); err == nil {
		t.Error("Reorder with an unknown name: no error")
	}
}

func TestTableAndHeatmap(t *testing.T) {
	m := NewMatrix([]string{"ocean", "traffic sign"}, []string{"sea", "water", "car"})
	m.W[0] = []float64{0.8, 0.2, 0}
	m.W[1] = []float64{0, 0.1, 0.9}
	var b bytes.Buffer
	if err := m.WriteTable(&b, 1); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ocean         sea 0.800\n", "traffic sign  car 0.900\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "water") {
		t.Errorf("top-1 table shows a second class:\n%s", out)
	}
	img := m.Heatmap("test")
	// the heaviest cell is darker than an empty one
	dark, light := img.RGBAAt(0, 0), img.RGBAAt(0, 0)
	found := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c == heatColor(1) || c == heatColor(0.9486832980505138) {
				dark = c
				found++
			}
		}
	}
	if found == 0 || dark == light {
		t.Errorf("no dark cell for weight 0.9 in the heatmap")
	}
}
