package affinity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"catsynth/internal/atomicfile"
)

// FormatName identifies catsynth affinity JSON files.
const FormatName = "catsynth-affinity/1"

// The JSON form is meant to be read and edited by hand:
//
//	{
//	  "format": "catsynth-affinity/1",
//	  "source": ["sky", "cloud", ...],          // the model's classes, in order
//	  "target": ["sky", "ocean", ...],          // optional: defaults to the rows' order
//	  "meta": {"method": "text"},               // optional provenance
//	  "rows": {
//	    "ocean": {"sea": 0.8, "water": 0.2},    // sparse: absent entries are 0
//	    ...
//	  }
//	}
//
// Rows are written in target order with entries heaviest first. Rows need not
// sum to 1 (ReadJSON normalises them and warns), so "ocean": {"sea": 1} is a
// valid edit.
type fileJSON struct {
	Format string            `json:"format,omitempty"`
	Source []string          `json:"source"`
	Target []string          `json:"target,omitempty"`
	Meta   map[string]string `json:"meta,omitempty"`
	Rows   json.RawMessage   `json:"rows"`
}

// WriteJSON writes m in the hand-editable form above. Weights are rounded to
// 6 decimals; entries that round to 0 are left out.
func (m *Matrix) WriteJSON(w io.Writer) error {
	if len(m.W) != len(m.Target) {
		return fmt.Errorf("affinity: matrix has %d rows for %d target classes", len(m.W), len(m.Target))
	}
	var b bytes.Buffer
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	list := func(names []string) string {
		var lb bytes.Buffer
		lb.WriteString("[")
		for i, n := range names {
			if i > 0 {
				lb.WriteString(", ")
			}
			lb.WriteString(str(n))
		}
		lb.WriteString("]")
		return lb.String()
	}
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  \"format\": %s,\n", str(FormatName))
	fmt.Fprintf(&b, "  \"source\": %s,\n", list(m.Source))
	fmt.Fprintf(&b, "  \"target\": %s,\n", list(m.Target))
	if len(m.Meta) > 0 {
		keys := make([]string, 0, len(m.Meta))
		for k := range m.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  \"meta\": {")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %s", str(k), str(m.Meta[k]))
		}
		b.WriteString("},\n")
	}
	b.WriteString("  \"rows\": {\n")
	for t, name := range m.Target {
		if len(m.W[t]) != len(m.Source) {
			return fmt.Errorf("affinity: row %q has %d entries for %d source classes", name, len(m.W[t]), len(m.Source))
		}
		fmt.Fprintf(&b, "    %s: {", str(name))
		first := true
		for _, e := range m.TopK(t, 0) {
			v := strconv.FormatFloat(e.Weight, 'f', 6, 64)
			if f, _ := strconv.ParseFloat(v, 64); f == 0 {
				continue
			}
			v = trimZeros(v)
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&b, "%s: %s", str(e.Source), v)
		}
		b.WriteString("}")
		if t < len(m.Target)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("  }\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func trimZeros(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// WriteJSONFile writes m to path (see WriteJSON) atomically: through a
// temp file and a rename (atomicfile.Write).
func (m *Matrix) WriteJSONFile(path string) error {
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err })
}

// ReadJSON parses the JSON form, then validates the matrix (see Validate):
// the warnings name rows that were renormalised. name (usually the path)
// prefixes errors. Errors: malformed JSON, a missing "source" list, a row or
// entry naming an unknown class, a target class without a row, a key given
// twice, and every error of Validate.
func ReadJSON(r io.Reader, name string) (m *Matrix, warnings []string, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	wrap := func(err error) error { return fmt.Errorf("%s: %w", name, err) }
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, wrap(fmt.Errorf("affinity JSON: %w", err))
	}
	if f.Format != "" && f.Format != FormatName {
		return nil, nil, wrap(fmt.Errorf("affinity JSON: format %q, want %q", f.Format, FormatName))
	}
	if len(f.Source) == 0 {
		return nil, nil, wrap(fmt.Errorf("affinity JSON: no \"source\" class list"))
	}
	if err := checkNames("source", f.Source); err != nil {
		return nil, nil, wrap(err)
	}
	if len(f.Rows) == 0 {
		return nil, nil, wrap(fmt.Errorf("affinity JSON: no \"rows\""))
	}
	rowKeys, rowVals, err := orderedObject(f.Rows, "rows")
	if err != nil {
		return nil, nil, wrap(err)
	}
	target := f.Target
	if target == nil {
		target = rowKeys
	}
	if err := checkNames("target", target); err != nil {
		return nil, nil, wrap(err)
	}
	ti, si := index(target), index(f.Source)
	m = NewMatrix(target, f.Source)
	m.Meta = f.Meta
	have := map[string]bool{}
	for i, tn := range rowKeys {
		t, ok := ti[tn]
		if !ok {
			return nil, nil, wrap(fmt.Errorf("affinity JSON: row %q is not a target class", tn))
		}
		have[tn] = true
		keys, vals, err := orderedObject(rowVals[i], fmt.Sprintf("row %q", tn))
		if err != nil {
			return nil, nil, wrap(err)
		}
		for j, sn := range keys {
			s, ok := si[sn]
			if !ok {
				return nil, nil, wrap(fmt.Errorf("affinity JSON: row %q names %q, which is not a source class", tn, sn))
			}
			var v float64
			if err := json.Unmarshal(vals[j], &v); err != nil {
				return nil, nil, wrap(fmt.Errorf("affinity JSON: entry [%q][%q] is not a number: %s", tn, sn, vals[j]))
			}
			m.W[t][s] = v
		}
	}
	for _, tn := range target {
		if !have[tn] {
			return nil, nil, wrap(fmt.Errorf("affinity JSON: target class %q has no row", tn))
		}
	}
	warnings, err = m.Validate()
	if err != nil {
		return nil, nil, wrap(err)
	}
	return m, warnings, nil
}

// MaxJSONBytes bounds an affinity JSON file: a hand-editable matrix of a
// few hundred classes is well under 1 MiB, so a larger file is a mistake
// (or an attack on memory), refused before it is read.
const MaxJSONBytes = 16 << 20

// ReadJSONFile reads a matrix from path (see ReadJSON), refusing files
// over MaxJSONBytes.
func ReadJSONFile(path string) (*Matrix, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxJSONBytes {
		return nil, nil, fmt.Errorf("%s: affinity JSON of %d bytes, over the limit of %d MiB", path, st.Size(), MaxJSONBytes>>20)
	}
	return ReadJSON(io.LimitReader(f, MaxJSONBytes+1), path)
}

// orderedObject splits a JSON object into its keys (in file order) and raw
// values, refusing duplicate keys (encoding/json would keep the last one
// silently, hiding a hand-editing mistake).
func orderedObject(raw json.RawMessage, what string) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("affinity JSON: %s: %w", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("affinity JSON: %s must be an object", what)
	}
	var keys []string
	var vals []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("affinity JSON: %s: %w", what, err)
		}
		k := tok.(string) // object keys are always strings
		if seen[k] {
			return nil, nil, fmt.Errorf("affinity JSON: %s: key %q appears twice", what, k)
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("affinity JSON: %s: value of %q: %w", what, k, err)
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals, nil
}
