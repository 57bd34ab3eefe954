package affinity

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// DefaultTextTemperature is the softmax temperature of the text estimator
// over cosine similarities of GloVe name vectors. It was chosen by
// TestTextTemperatureSweep on the synthetic domains' ground truth (coast,
// street, alpine): the softest temperature whose distance to the truth is
// within 0.02 of the sharpest's (see docs/AFFINITY.md for the sweep).
const DefaultTextTemperature = 0.07

// DefaultAliases rewrite class-name words that GloVe lacks (COCO-Stuff's
// run-together names) into words it has. Keys and values are lower case.
var DefaultAliases = map[string]string{
	"playingfield": "playing field",
	"waterdrops":   "water drops",
}

// stopWords are dropped from multi-word names (COCO-Stuff's "wall-other",
// "desk-stuff"): on their own they would pull unrelated classes together.
var stopWords = map[string]bool{"other": true, "stuff": true, "of": true, "the": true, "a": true, "an": true, "and": true}

// NameError reports a class name that cannot be embedded.
type NameError struct {
	Class string // the class name as given
	Word  string // the word the table lacks ("" for an empty name)
}

func (e *NameError) Error() string {
	if e.Word == "" {
		return fmt.Sprintf("affinity: class %q has no words to embed", e.Class)
	}
	return fmt.Sprintf("affinity: class %q: word %q is not in the embedding table (rename the class, or give an alias)", e.Class, e.Word)
}

// NameVector embeds a class name, as a unit vector of dimension e.Dim:
//   - "road|street" (or ";"): synonyms, embedded one by one and averaged;
//   - a synonym that is itself a key of the table (a CLIP table keyed by
//     class names) uses that vector;
//   - otherwise it is lower-cased, aliases applies (the whole synonym, then
//     each word), "_" and "-" split words as spaces do, stop words ("other",
//     "stuff", "of", ...) are dropped when other words remain, and the unit
//     vectors of the words are averaged ("traffic sign");
//   - a word the table lacks is split into words it has when it can be
//     (CompoundParts: "waterbody" -> water + body; NameNotes says so).
//
// A word missing from the table that does not split is a *NameError naming
// the word and the class: it is never silently zero.
func NameVector(e *Embeddings, name string, aliases map[string]string) ([]float64, error) {
	return nameVector(e, name, aliases, nil)
}

// NameNotes returns what NameVector had to guess for a name (a
// run-together word it split), one line per word, for a warning.
func NameNotes(e *Embeddings, name string, aliases map[string]string) []string {
	var notes []string
	nameVector(e, name, aliases, &notes)
	return notes
}

func nameVector(e *Embeddings, name string, aliases map[string]string, notes *[]string) ([]float64, error) {
	acc := make([]float64, e.Dim)
	nsyn := 0
	for _, syn := range strings.FieldsFunc(name, func(r rune) bool { return r == '|' || r == ';' }) {
		syn = strings.ToLower(strings.TrimSpace(syn))
		if syn == "" {
			continue
		}
		v, err := phraseVector(e, syn, name, aliases, notes)
		if err != nil {
			return nil, err
		}
		addUnit(acc, v)
		nsyn++
	}
	if nsyn == 0 {
		return nil, &NameError{Class: name}
	}
	return unit(acc), nil
}

func phraseVector(e *Embeddings, syn, class string, aliases map[string]string, notes *[]string) ([]float64, error) {
	if v, ok := e.Vector(syn); ok {
		return f64(v), nil
	}
	if a, ok := lookupAlias(aliases, syn); ok {
		syn = a
		if v, ok := e.Vector(syn); ok {
			return f64(v), nil
		}
	}
	var words []string
	for _, w := range strings.FieldsFunc(syn, func(r rune) bool { return r == ' ' || r == '_' || r == '-' || r == '\t' }) {
		if a, ok := lookupAlias(aliases, w); ok {
			words = append(words, strings.Fields(a)...)
		} else {
			words = append(words, w)
		}
	}
	var content []string
	for _, w := range words {
		if !stopWords[w] {
			content = append(content, w)
		}
	}
	if len(content) == 0 {
		content = words
	}
	if len(content) == 0 {
		return nil, &NameError{Class: class}
	}
	acc := make([]float64, e.Dim)
	for _, w := range content {
		if v, ok := e.Vector(w); ok {
			addUnit(acc, f64(v))
			continue
		}
		parts := CompoundParts(e, w)
		if parts == nil {
			return nil, &NameError{Class: class, Word: w}
		}
		if notes != nil {
			*notes = append(*notes, fmt.Sprintf("class %q: word %q is not in the embedding table; read as %s", class, w, strings.Join(parts, " + ")))
		}
		part := make([]float64, e.Dim)
		for _, p := range parts {
			v, _ := e.Vector(p)
			addUnit(part, f64(v))
		}
		addUnit(acc, part) // the compound weighs as one word
	}
	return acc, nil
}

// minCompoundPart is the shortest word CompoundParts uses: shorter table
// words ("ed", "if") would split almost anything.
const minCompoundPart = 3

// CompoundParts splits a run-together word the table lacks into two or
// three words it has, each at least minCompoundPart letters ("waterbody" ->
// water, body; "riverbank" -> river, bank). Of the splits with the
// fewest parts it takes the one whose rarest part is most frequent (table
// order is frequency for GloVe). It returns nil when the word is in the
// table, is not plain ASCII letters, or has no such split ("edifice").
func CompoundParts(e *Embeddings, w string) []string {
	if e.Has(w) || len(w) < 2*minCompoundPart {
		return nil
	}
	for _, c := range w {
		if c > 127 || !unicode.IsLetter(c) {
			return nil
		}
	}
	rank := func(p string) (int, bool) {
		if len(p) < minCompoundPart {
			return 0, false
		}
		i, ok := e.index[strings.ToLower(p)]
		return i, ok
	}
	var best []string
	bestRank := -1
	consider := func(worst int, parts ...string) {
		if bestRank < 0 || worst < bestRank {
			best, bestRank = parts, worst
		}
	}
	for i := minCompoundPart; i <= len(w)-minCompoundPart; i++ {
		a, okA := rank(w[:i])
		b, okB := rank(w[i:])
		if okA && okB {
			consider(max(a, b), w[:i], w[i:])
		}
	}
	if best != nil {
		return best
	}
	for i := minCompoundPart; i <= len(w)-2*minCompoundPart; i++ {
		a, ok := rank(w[:i])
		if !ok {
			continue
		}
		for j := i + minCompoundPart; j <= len(w)-minCompoundPart; j++ {
			b, okB := rank(w[i:j])
			c, okC := rank(w[j:])
			if okB && okC {
				consider(max(a, b, c), w[:i], w[i:j], w[j:])
			}
		}
	}
	return best
}

func lookupAlias(aliases map[string]string, k string) (string, bool) {
	if aliases != nil {
		if a, ok := aliases[k]; ok {
			return strings.ToLower(a), true
		}
	}
	a, ok := DefaultAliases[k]
	return a, ok
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// addUnit adds v / |v| to acc (nothing when v is zero).
func addUnit(acc, v []float64) {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	if n == 0 {
		return
	}
	n = math.Sqrt(n)
	for i, x := range v {
		acc[i] += x / n
	}
}

func unit(v []float64) []float64 {
	out := make([]float64, len(v))
	addUnit(out, v)
	return out
}

// TextOptions configures the text estimator. The zero value means a softmax
// with DefaultTextTemperature and no aliases beyond DefaultAliases.
type TextOptions struct {
	// Temperature of the row softmax over cosine similarities (0: default).
	Temperature float64
	// TopK > 0 replaces the softmax by top-k sparsification of the cosine
	// scores (see TopKScores).
	TopK int
	// Aliases rewrite names or words before lookup (lower case keys),
	// consulted before DefaultAliases.
	Aliases map[string]string
}

// TextScores returns the cosine similarity of every target name vector with
// every source name vector (T x S, entries in [-1, 1]; not row-stochastic).
func TextScores(e *Embeddings, target, source []string, aliases map[string]string) (*Matrix, error) {
	if err := checkNames("target", target); err != nil {
		return nil, err
	}
	if err := checkNames("source", source); err != nil {
		return nil, err
	}
	embed := func(names []string) ([][]float64, error) {
		out := make([][]float64, len(names))
		for i, n := range names {
			v, err := NameVector(e, n, aliases)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	tv, err := embed(target)
	if err != nil {
		return nil, err
	}
	sv, err := embed(source)
	if err != nil {
		return nil, err
	}
	m := NewMatrix(target, source)
	for t := range tv {
		for s := range sv {
			m.W[t][s] = cosine(tv[t], sv[s])
		}
	}
	return m, nil
}

// TextEstimate estimates A from class names alone (the paper's estimator 2):
// cosine similarity of name vectors, then a row softmax with temperature
// (or top-k sparsification).
func TextEstimate(e *Embeddings, target, source []string, o TextOptions) (*Matrix, error) {
	scores, err := TextScores(e, target, source, o.Aliases)
	if err != nil {
		return nil, err
	}
	var m *Matrix
	if o.TopK > 0 {
		m, err = TopKScores(scores, o.TopK)
	} else {
		temp := o.Temperature
		if temp == 0 {
			temp = DefaultTextTemperature
		}
		m, err = SoftmaxRows(scores, temp)
		if err == nil {
			m.SetMeta("temperature", strconv.FormatFloat(temp, 'g', -1, 64))
		}
	}
	if err != nil {
		return nil, err
	}
	m.SetMeta("method", "text")
	m.SetMeta("embeddings", e.Origin)
	if o.TopK > 0 {
		m.SetMeta("top_k", strconv.Itoa(o.TopK))
	}
	return m, nil
}

// NameWords returns the table keys NameVector would look up for names (each
// synonym's words after aliases, "_"/"-" splitting and stop-word removal),
// without duplicates. The GloVe import keeps all of them.
func NameWords(names []string, aliases map[string]string) []string {
	var out []string
	for _, name := range names {
		for _, syn := range strings.FieldsFunc(name, func(r rune) bool { return r == '|' || r == ';' }) {
			syn = strings.ToLower(strings.TrimSpace(syn))
			if a, ok := lookupAlias(aliases, syn); ok {
				syn = a
			}
			var words []string
			for _, w := range strings.FieldsFunc(syn, func(r rune) bool { return r == ' ' || r == '_' || r == '-' || r == '\t' }) {
				if a, ok := lookupAlias(aliases, w); ok {
					words = append(words, strings.Fields(a)...)
				} else {
					words = append(words, w)
				}
			}
			out = append(out, words...)
		}
	}
	return dedupe(out)
}
