package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"catsynth/dataset"
	"catsynth/dataset/synth"
)

func init() {
	register(command{name: "data", summary: "inspect datasets and render synthetic scenes", run: runData})
}

const dataUsage = `usage: catsynth data SUBCOMMAND [flags]

subcommands:
  synth     --domain D --n N --size S --seed K --out DIR   render a synthetic domain to the folder format
  inspect   SPEC [--grid FILE.png]   counts, sizes and class histogram of a sample, and a preview grid
  stats     SPEC                     the same over the whole dataset (no grid)
  relation  --domain D [--out FILE] [--grid FILE.png]
                                     ground-truth class relation of a synthetic target domain (JSON)
  domains                            list the synthetic domains and their classes

` + dataset.SpecHelp

func runData(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(os.Stderr, dataUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "synth":
		return dataSynth(ctx, args[1:], os.Stdout)
	case "inspect":
		return dataInspect(ctx, "inspect", args[1:], os.Stdout)
	case "stats":
		return dataInspect(ctx, "stats", args[1:], os.Stdout)
	case "relation":
		return dataRelation(args[1:], os.Stdout)
	case "domains":
		return dataDomains(os.Stdout)
	}
	fmt.Fprintln(os.Stderr, dataUsage)
	return fmt.Errorf("%w: unknown data subcommand %q", errUsage, args[0])
}

// dataParseArgs parses flags that may come before or after positional
// arguments ("inspect PATH --grid x.png").
func dataParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func dataUsageErr(fs *flag.FlagSet, format string, a ...any) error {
	fs.Usage()
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

func dataSynth(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("data synth", "--domain D --n N --size S --seed K --out DIR")
	domain := fs.String("domain", "source", "domain: "+strings.Join(synth.Domains(), ", "))
	n := fs.Int("n", 100, "number of scenes")
	size := fs.Int("size", 128, "image width and height in pixels")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same scenes)")
	dir := fs.String("out", "", "output folder (required)")
	workers := fs.Int("workers", 0, "rendering goroutines (0: one per CPU)")
	pos, err := dataParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return dataUsageErr(fs, "unexpected argument %q", pos[0])
	}
	if *dir == "" {
		return dataUsageErr(fs, "--out is required")
	}
	if *n <= 0 {
		return dataUsageErr(fs, "--n must be positive")
	}
	if *size < 8 || *size > 4096 {
		return dataUsageErr(fs, "--size %d: must be in 8..4096 pixels", *size)
	}
	ds, err := dataset.OpenSynth(dataset.SynthConfig{Domain: *domain, N: *n, Seed: *seed, W: *size, H: *size})
	if err != nil {
		return err
	}
	start := time.Now()
	err = dataset.WriteFolder(ctx, *dir, ds, *n, *workers, countProgress(os.Stderr, "rendering", 500))
	if err != nil {
		return err
	}
	rel, err := dataset.SynthRelation(*domain)
	if err != nil {
		return err
	}
	if err := dataWriteJSON(filepath.Join(*dir, "relation_groundtruth.json"), rel); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(out, "wrote %d %s scenes (%dx%d, seed %d) to %s in %.1fs (%.0f images/s with PNG writing)\n",
		*n, *domain, *size, *size, *seed, *dir, el.Seconds(), float64(*n)/el.Seconds())
	fmt.Fprintf(out, "ground-truth relation: %s (for evaluating affinity estimators only)\n",
		filepath.Join(*dir, "relation_groundtruth.json"))
	return nil
}

func dataInspect(ctx context.Context, name string, args []string, out io.Writer) error {
	fs := newFlags("data "+name, "SPEC [flags]")
	limit := fs.Int("limit", 0, "use a reproducible random subset of N samples")
	subset := fs.String("subset", "", "use the samples named in FILE (one per line)")
	seed := fs.Uint64("seed", 1, "seed of --limit")
	namesOut := fs.String("names", "", "write the chosen sample names to FILE")
	all := fs.Bool("all", false, "list every class of the vocabulary, also those that do not occur")
	var grid *string
	var scan, gridN *int
	if name == "inspect" {
		grid = fs.String("grid", "", "write a PNG grid of images beside colourized label maps to FILE")
		gridN = fs.Int("grid-n", 8, "samples in the grid")
		scan = fs.Int("scan", 200, "samples read for the histogram (0: all)")
	}
	pos, err := dataParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return dataUsageErr(fs, "want one dataset spec\n%s", dataset.SpecHelp)
	}
	ds, err := dataset.Open(pos[0])
	if err != nil {
		return err
	}
	if ds, err = dataset.Select(ds, *limit, *subset, *seed); err != nil {
		return err
	}
	if *namesOut != "" {
		if err := dataset.WriteNames(*namesOut, ds); err != nil {
			return err
		}
	}
	max := 0
	if scan != nil {
		max = *scan
	}
	st, err := dataset.ComputeStats(ctx, ds, max, countProgress(os.Stderr, "reading", 500))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "samples   %d in the dataset\n", ds.Len())
	if *all {
		st.WriteAll(out)
	} else {
		st.Write(out)
	}
	if grid != nil && *grid != "" {
		g, err := dataset.Grid(ds, *gridN, 4, 128)
		if err != nil {
			return err
		}
		if err := dataset.WritePNG(*grid, g); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nwrote %s\n", *grid)
	}
	return nil
}

func dataRelation(args []string, out io.Writer) error {
	fs := newFlags("data relation", "--domain D [--out FILE]")
	domain := fs.String("domain", "", "synthetic target domain")
	file := fs.String("out", "", "write the JSON to FILE instead of standard output")
	grid := fs.String("grid", "", "also draw each target class beside its source relatives to FILE.png")
	seed := fs.Uint64("seed", 1, "seed of the scenes drawn in --grid")
	if _, err := dataParseArgs(fs, args); err != nil {
		return err
	}
	if *domain == "" {
		return dataUsageErr(fs, "--domain is required (one of %s)", strings.Join(synth.Domains(), ", "))
	}
	rel, err := dataset.SynthRelation(*domain)
	if err != nil {
		return err
	}
	if *grid != "" {
		g, err := dataset.RelationGrid(*domain, *seed, 40, 100)
		if err != nil {
			return err
		}
		if err := dataset.WritePNG(*grid, g); err != nil {
			return err
		}
	}
	if *file != "" {
		return dataWriteJSON(*file, rel)
	}
	b, err := json.MarshalIndent(rel, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

func dataDomains(out io.Writer) error {
	for _, n := range synth.Domains() {
		d, err := synth.Lookup(n)
		if err != nil {
			return err
		}
		names := make([]string, len(d.Classes))
		for i, c := range d.Classes {
			names[i] = c.Name
		}
		fmt.Fprintf(out, "%-7s %2d classes: %s\n", n, len(names), strings.Join(names, ", "))
	}
	return nil
}

func dataWriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
