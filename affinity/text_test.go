package affinity

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// toyTable is a random word table (dimension 16) over the given words.
func toyTable(r *rand.Rand, words ...string) *Embeddings {
	const dim = 16
	vec := make([]float32, len(words)*dim)
	for i := range vec {
		vec[i] = float32(r.NormFloat64())
	}
	e, err := NewEmbeddings(words, vec, dim, "toy")
	if err != nil {
		panic(err)
	}
	return e
}

func unitOf(v []float32) []float64 { return unit(f64(v)) }

func TestNameVector(t *testing.T) {
	r := testRNG(t)
	e := toyTable(r, "traffic", "sign", "road", "street", "wall", "other", "playing", "field", "light blue")
	mean := func(vs ...[]float64) []float64 {
		acc := make([]float64, e.Dim)
		for _, v := range vs {
			addUnit(acc, v)
		}
		return unit(acc)
	}
	word := func(w string) []float64 { v, _ := e.Vector(w); return unitOf(v) }
	cases := []struct {
		name string
		want []float64
	}{
		{"road", word("road")},
		{"Road", word("road")},
		{"traffic sign", mean(word("traffic"), word("sign"))},
		{"traffic_sign", mean(word("traffic"), word("sign"))},
		{"traffic-sign", mean(word("traffic"), word("sign"))},
		{"road|street", mean(word("road"), word("street"))},
		{"road;street", mean(word("road"), word("street"))},
		{"wall-other", word("wall")},                           // stop word dropped
		{"other", word("other")},                               // ... unless it is the only word
		{"playingfield", mean(word("playing"), word("field"))}, // default alias
		{"light blue", word("light blue")},                     // a phrase key (CLIP-style table) wins
	}
	for _, c := range cases {
		got, err := NameVector(e, c.name, nil)
		if err != nil {
			t.Errorf("%q: %v", c.name, err)
			continue
		}
		for i := range got {
			if !near(got[i], c.want[i], 1e-9) {
				t.Errorf("%q: vector differs at %d: %v vs %v", c.name, i, got[i], c.want[i])
				break
			}
		}
	}
	// user aliases
	got, err := NameVector(e, "carriageway", map[string]string{"carriageway": "road"})
	if err != nil || !near(cosine(got, word("road")), 1, 1e-9) {
		t.Errorf("alias: %v %v", err, got)
	}
}

func TestNameVectorErrors(t *testing.T) {
	e := toyTable(testRNG(t), "road", "sign")
	for _, c := range []struct{ name, word string }{
		{"traffic sign", "traffic"},
		{"road|highway", "highway"},
		{"  ", ""},
		{"|", ""},
	} {
		_, err := NameVector(e, c.name, nil)
		var ne *NameError
		if !errors.As(err, &ne) || ne.Word != c.word || ne.Class != c.name {
			t.Errorf("%q: error %v, want a NameError for word %q", c.name, err, c.word)
			continue
		}
		if c.word != "" && (!strings.Contains(err.Error(), c.word) || !strings.Contains(err.Error(), c.name)) {
			t.Errorf("%q: message %q does not name the word and the class", c.name, err)
		}
	}
	if _, err := TextEstimate(e, []string{"road"}, []string{"road", "traffic"}, TextOptions{}); err == nil {
		t.Error("TextEstimate with an unknown source word: no error")
	}
	if _, err := TextEstimate(e, []string{"road", "road"}, []string{"sign"}, TextOptions{}); err == nil {
		t.Error("TextEstimate with duplicate targets: no error")
	}
}

// TestTextIdentity: a target vocabulary equal to the source's maps every
// class to itself (cosine 1 beats every other), with the toy table and with
// the real GloVe table on the synthetic source classes.
func TestTextIdentity(t *testing.T) {
	r := testRNG(t)
	words := []string{"sky", "road", "car", "tree", "sea", "person"}
	tables := map[string]*Embeddings{"toy": toyTable(r, words...), "glove": loadGlove(t)}
	for name, e := range tables {
		for _, o := range []TextOptions{{}, {Temperature: 0.5}, {TopK: 1}, {TopK: 3}} {
			m, err := TextEstimate(e, words, words, o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range words {
				if m.Argmax(i) != i {
					t.Errorf("%s %+v: %s maps to %s", name, o, words[i], words[m.Argmax(i)])
				}
				sum := 0.0
				for _, v := range m.W[i] {
					sum += v
				}
				if !near(sum, 1, 1e-9) {
					t.Errorf("%s %+v: row %s sums to %v", name, o, words[i], sum)
				}
			}
			if o.TopK == 1 && m.W[0][0] != 1 {
				t.Errorf("%s top-1: row %v", name, m.W[0])
			}
		}
	}
}

// TestTextScores checks a cosine against a direct computation.
func TestTextScores(t *testing.T) {
	e := toyTable(testRNG(t), "p", "q", "c")
	s, err := TextScores(e, []string{"p q"}, []string{"c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	va, _ := e.Vector("p")
	vb, _ := e.Vector("q")
	vc, _ := e.Vector("c")
	sum := make([]float64, e.Dim)
	addUnit(sum, f64(va))
	addUnit(sum, f64(vb))
	if want := cosine(sum, f64(vc)); !near(s.W[0][0], want, 1e-12) || math.Abs(want) > 1 {
		t.Errorf("score %v, want %v", s.W[0][0], want)
	}
}

// TestTableIO writes a table as f16 safetensors (plain and zstd), reads it
// back, and reads a user CLIP-style table keyed by class names.
func TestTableIO(t *testing.T) {
	r := testRNG(t)
	e := toyTable(r, "sky", "road", "traffic sign")
	dir := t.TempDir()
	for _, name := range []string{"t.safetensors", "t.safetensors.zst"} {
		p := filepath.Join(dir, name)
		if err := e.WriteTable(p, true); err != nil {
			t.Fatal(err)
		}
		back, err := LoadEmbeddings(p)
		if err != nil {
			t.Fatal(err)
		}
		if back.Len() != 3 || back.Dim != e.Dim || back.Origin != "toy" {
			t.Fatalf("%s: %d words dim %d origin %q", name, back.Len(), back.Dim, back.Origin)
		}
		for i, x := range e.Vec {
			if math.Abs(float64(back.Vec[i]-x)) > 2e-3*math.Max(1, math.Abs(float64(x))) {
				t.Fatalf("%s: value %d = %v, want %v (f16)", name, i, back.Vec[i], x)
			}
		}
		// "traffic sign" is a phrase key: used whole
		if _, err := NameVector(back, "traffic sign", nil); err != nil {
			t.Error(err)
		}
	}
}

func TestReadWink(t *testing.T) {
	src := `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":3,"dimensions":2,
	"words":["the","sea","\""],
	"vectors":{"sea":[0.5,-1,1.1,1],"the":[1,2,2.2,0],"\"":[3,4,5,2]},"unkVector":[0,0,0,-1]}`
	e, err := ReadWink(strings.NewReader(src), "wink.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(e.Words, " ") != `the sea "` || e.Dim != 2 {
		t.Fatalf("words %q dim %d", e.Words, e.Dim)
	}
	if v, _ := e.Vector("sea"); v[0] != 0.5 || v[1] != -1 {
		t.Errorf("sea = %v", v)
	}
	sub, missing := e.Subset(1, []string{"sea", "ocean"})
	if strings.Join(sub.Words, " ") != "the sea" || len(missing) != 1 || missing[0] != "ocean" {
		t.Errorf("Subset: %q, missing %q", sub.Words, missing)
	}
	for _, bad := range []string{`[]`, `{"dimensions":2,"vectors":{"a":[1]}}`, `{"vectors":{}}`, `{"dimensions":2,"vectors":{"a":[1,"x"]}}`} {
		if _, err := ReadWink(strings.NewReader(bad), "bad.json"); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("ReadWink(%s): %v", bad, err)
		}
	}
}

func TestDecodeTableErrors(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("not safetensors")
	if _, err := DecodeTable(b.Bytes(), "x.safetensors"); err == nil {
		t.Error("garbage: no error")
	}
}

// TestDefaultTableCoversKnownNames: every class name of the public datasets
// and the synthetic domains embeds with the committed table.
func TestDefaultTableCoversKnownNames(t *testing.T) {
	e := loadGlove(t)
	t.Logf("default table: %d words x %d, %s", e.Len(), e.Dim, e.Origin)
	for _, n := range KnownClassNames() {
		if _, err := NameVector(e, n, nil); err != nil {
			t.Error(err)
		}
	}
	if e.Len() < DefaultTableWords {
		t.Errorf("table has %d words, want >= %d", e.Len(), DefaultTableWords)
	}
}
