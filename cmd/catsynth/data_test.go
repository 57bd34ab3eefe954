package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataSynthInspect renders a small domain to disk, inspects it back and
// checks the relation file, the grid and the names file.
func TestDataSynthInspect(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "street")
	var buf bytes.Buffer
	if err := dataSynth(context.Background(), []string{"--domain", "street", "--n", "6", "--size", "32", "--seed", "2", "--out", out}, &buf); err != nil {
		t.Fatal(err)
	}
	var rel struct {
		Weights map[string]map[string]float64 `json:"weights"`
		Novel   []string                      `json:"novel"`
	}
	b, err := os.ReadFile(filepath.Join(out, "relation_groundtruth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rel); err != nil || rel.Weights["truck"]["car"] != 1 || len(rel.Novel) == 0 {
		t.Fatalf("relation %v %v (%v)", rel.Weights["truck"], rel.Novel, err)
	}
	imgs, _ := os.ReadDir(filepath.Join(out, "images"))
	if len(imgs) != 6 {
		t.Fatalf("%d images written", len(imgs))
	}
	buf.Reset()
	grid := filepath.Join(dir, "grid.png")
	names := filepath.Join(dir, "names.txt")
	if err := dataInspect(context.Background(), "inspect", []string{out, "--grid", grid, "--grid-n", "4", "--limit", "3", "--names", names}, &buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"samples   3 in the dataset", "vegetation", "wrote " + grid} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, buf.String())
		}
	}
	if st, err := os.Stat(grid); err != nil || st.Size() == 0 {
		t.Errorf("grid: %v", err)
	}
	nb, _ := os.ReadFile(names)
	if n := strings.Count(string(nb), "street_"); n != 3 {
		t.Errorf("names file has %d names:\n%s", n, nb)
	}
	buf.Reset()
	if err := dataInspect(context.Background(), "stats", []string{"--subset", names, out}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "samples   3 in the dataset") {
		t.Errorf("stats with --subset:\n%s", buf.String())
	}
}

func TestDataUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"synth", "--n", "3"},               // no --out
		{"synth", "--out", "x", "--n", "0"}, // bad n
		{"inspect"},                         // no spec
		{"frobnicate"},                      // unknown subcommand
		{"relation"},                        // no domain
	} {
		err := runData(context.Background(), args)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
	if err := runData(context.Background(), []string{"inspect", "synth:mars"}); err == nil || errors.Is(err, errUsage) {
		t.Errorf("unknown domain: %v", err)
	}
	var buf bytes.Buffer
	if err := dataDomains(&buf); err != nil || !strings.Contains(buf.String(), "alpine") {
		t.Errorf("domains: %v\n%s", err, buf.String())
	}
}
