package dataset

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
)

// subset is a view of some samples of another dataset.
type subset struct {
	Dataset
	idx []int
}

func (s *subset) Len() int                    { return len(s.idx) }
func (s *subset) ItemName(i int) string       { return s.Dataset.ItemName(s.idx[i]) }
func (s *subset) Load(i int) (*Sample, error) { return s.Dataset.Load(s.idx[i]) }
func (s *subset) Skipped() []Skip             { return Skipped(s.Dataset) }

// Limit returns a reproducible random subset of n samples of ds chosen by
// seed (few-shot target sets), kept in ds's order. n >= Len returns ds.
func Limit(ds Dataset, n int, seed uint64) (Dataset, error) {
	if n <= 0 {
		return nil, fmt.Errorf("dataset: limit must be positive, got %d", n)
	}
	if n >= ds.Len() {
		return ds, nil
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed5))
	perm := r.Perm(ds.Len())[:n]
	sort.Ints(perm)
	return &subset{Dataset: ds, idx: perm}, nil
}

// SubsetFile returns the samples of ds named in the file at path (one name
// per line as written by WriteNames; blank lines and '#' comments ignored), in
// the file's order. A name that ds does not have is an error.
func SubsetFile(ds Dataset, path string) (Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	index := make(map[string]int, ds.Len())
	for i := 0; i < ds.Len(); i++ {
		index[ds.ItemName(i)] = i
	}
	var idx []int
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		n := strings.TrimSpace(sc.Text())
		if n == "" || strings.HasPrefix(n, "#") {
			continue
		}
		i, ok := index[n]
		if !ok {
			return nil, fileErr(path, "line %d: %q is not a sample of %s", line, n, ds.Name())
		}
		idx = append(idx, i)
	}
	if err := sc.Err(); err != nil {
		return nil, fileErr(path, "%v", err)
	}
	if len(idx) == 0 {
		return nil, fileErr(path, "names no samples")
	}
	return &subset{Dataset: ds, idx: idx}, nil
}

// WriteNames writes the sample names of ds to path, one per line, so that a
// run's subset can be reproduced with SubsetFile.
func WriteNames(path string, ds Dataset) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %d samples of %s\n", ds.Len(), ds.Name())
	for i := 0; i < ds.Len(); i++ {
		b.WriteString(ds.ItemName(i))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// Select applies the few-shot options of the CLI: subsetFile (names, see
// SubsetFile) when set, then limit (a seeded random subset, see Limit) when
// positive.
func Select(ds Dataset, limit int, subsetFile string, seed uint64) (Dataset, error) {
	var err error
	if subsetFile != "" {
		if ds, err = SubsetFile(ds, subsetFile); err != nil {
			return nil, err
		}
	}
	if limit > 0 {
		return Limit(ds, limit, seed)
	}
	return ds, nil
}
