package affinity

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestCompoundParts: which splits a run-together word gets, on a toy table
// whose order stands for word frequency.
func TestCompoundParts(t *testing.T) {
	e := toyTable(testRNG(t), "water", "body", "sea", "wall", "red", "wat", "erbody", "sunset", "ab", "cdef", "sun", "set")
	cases := []struct {
		word string
		want []string
	}{
		{"waterbody", []string{"water", "body"}}, // beats wat+erbody: its rarest part is more frequent
		{"seawall", []string{"sea", "wall"}},
		{"redseawall", []string{"red", "sea", "wall"}}, // three parts when two do not do
		{"sunset", nil},   // in the table: nothing to split
		{"abcdef", nil},   // "ab" is shorter than minCompoundPart
		{"edifice", nil},  // no split at all
		{"séawall", nil},  // not plain ASCII letters
		{"sea-wall", nil}, // separators are NameVector's business
		{"wall", nil},     // too short to hold two parts
		{"seawallsun", []string{"sea", "wall", "sun"}},
	}
	for _, c := range cases {
		if got := CompoundParts(e, c.word); !slices.Equal(got, c.want) {
			t.Errorf("CompoundParts(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

// TestCompoundNames: class names with run-together, hyphenated,
// underscored, spaced and capitalised words against the embedded table;
// a split word weighs as the mean of its parts and is noted, an unknown
// word stays a NameError.
func TestCompoundNames(t *testing.T) {
	e := loadGlove(t)
	mean := func(words ...string) []float64 {
		acc := make([]float64, e.Dim)
		for _, w := range words {
			v, ok := e.Vector(w)
			if !ok {
				t.Fatalf("the table lacks %q", w)
			}
			addUnit(acc, f64(v))
		}
		return unit(acc)
	}
	cases := []struct {
		name    string
		want    []float64
		note    string // in NameNotes ("" for none)
		unknown string // the word of the NameError
	}{
		{"waterbody", mean("water", "body"), "read as water + body", ""},
		{"WaterBody", mean("water", "body"), "read as water + body", ""},
		{"water-body", mean("water", "body"), "", ""},
		{"water_body", mean("water", "body"), "", ""},
		{"Water Body", mean("water", "body"), "", ""},
		{"seawall", mean("sea", "wall"), "read as sea + wall", ""},
		{"riverbank|lakeshore", mean("river", "bank", "lake", "shore"), "read as lake + shore", ""},
		{"grassland", mean("grassland"), "", ""}, // in the table: not split
		{"edifice", nil, "", "edifice"},
		{"old edifice", nil, "", "edifice"},
		{"zqxvbnmw", nil, "", "zqxvbnmw"},
	}
	for _, c := range cases {
		got, err := NameVector(e, c.name, nil)
		notes := NameNotes(e, c.name, nil)
		if c.unknown != "" {
			var ne *NameError
			if !errors.As(err, &ne) || ne.Word != c.unknown {
				t.Errorf("%q: error %v, want a NameError for %q", c.name, err, c.unknown)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.name, err)
			continue
		}
		// Synonyms of two compounds average two means, which is not
		// the mean of four words: compare directions loosely there.
		tol := 1e-6
		if strings.Contains(c.name, "|") {
			tol = 0.05
		}
		if cs := cosine(got, c.want); !near(cs, 1, tol) {
			t.Errorf("%q: cosine %.6f with the expected vector, want 1", c.name, cs)
		}
		joined := strings.Join(notes, "; ")
		if (c.note == "") != (joined == "") || !strings.Contains(joined, c.note) {
			t.Errorf("%q: notes %q, want %q", c.name, joined, c.note)
		}
	}
}

// TestTextRowsCompounds: the estimate the CLI and the page share goes on
// past unknown names: a compound is split with a warning, an unknown word
// gives a uniform row with a warning naming it, the other rows are kept.
func TestTextRowsCompounds(t *testing.T) {
	e := loadGlove(t)
	target := []string{"ocean", "waterbody", "edifice", "Sea-Wall", "river_bank"}
	source := []string{"sea", "sky", "road", "building"}
	m, warn, err := TextRows(e, target, source, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(warn, "\n")
	for _, want := range []string{`"waterbody" is not in the embedding table; read as water + body`, `word "edifice"`, "row set to uniform"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if len(warn) != 2 {
		t.Errorf("%d warnings, want 2 (waterbody split, edifice uniform):\n%s", len(warn), all)
	}
	for i, w := range m.W[2] {
		if !near(w, 0.25, 1e-12) {
			t.Errorf("edifice row %v is not uniform (entry %d)", m.W[2], i)
			break
		}
	}
	for _, r := range []int{1, 3} {
		if m.W[r][0] <= m.W[r][2] {
			t.Errorf("%s row %v does not prefer sea over road", target[r], m.W[r])
		}
	}
	if slices.Max(m.W[4]) < 0.3 {
		t.Errorf("river_bank row %v is as flat as a uniform one", m.W[4])
	}
	// A compound source name is split too; an unknown one still fails.
	if _, warn, err := TextRows(e, []string{"ocean"}, []string{"waterbody", "road"}, TextOptions{}); err != nil || len(warn) != 1 {
		t.Errorf("compound source: %v, warnings %q", err, warn)
	}
	if _, _, err := TextRows(e, []string{"ocean"}, []string{"edifice", "road"}, TextOptions{}); err == nil || !strings.Contains(err.Error(), `source class "edifice"`) {
		t.Errorf("unknown source: %v", err)
	}
}
