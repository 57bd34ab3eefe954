package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SpecHelp describes the dataset spec strings Open accepts.
const SpecHelp = `dataset specs:
  folder:PATH                          images/, labels/, classes.txt (a bare PATH means folder:PATH)
  ade20k:PATH[:training|validation]    ADEChallengeData2016
  cityscapes:PATH[:train|val|test][:trainids]
  cocostuff:PATH[:train2017|val2017]
  synth:DOMAIN[:n=N,seed=K,size=S]     rendered on the fly (domains: source, coast, street, alpine)`

// Open opens a dataset from a spec string (see SpecHelp). Paths may contain
// colons only in the folder form; for the others the options follow the last
// path element.
func Open(spec string) (Dataset, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || len(kind) == 1 { // no kind, or a Windows drive letter
		if k := DetectLayout(spec); k != "" {
			return Open(k + ":" + spec)
		}
		return OpenFolder(spec)
	}
	switch kind {
	case "folder":
		return OpenFolder(rest)
	case "ade20k":
		path, opts := splitOpts(rest)
		if len(opts) > 1 {
			return nil, fmt.Errorf("dataset spec %q: want ade20k:PATH[:split]", spec)
		}
		return OpenADE20K(path, first(opts))
	case "cocostuff":
		path, opts := splitOpts(rest)
		if len(opts) > 1 {
			return nil, fmt.Errorf("dataset spec %q: want cocostuff:PATH[:split]", spec)
		}
		return OpenCOCOStuff(path, first(opts))
	case "cityscapes":
		path, opts := splitOpts(rest)
		split, train := "", false
		for _, o := range opts {
			switch o {
			case "trainids":
				train = true
			case "train", "val", "test":
				split = o
			default:
				return nil, fmt.Errorf("dataset spec %q: unknown option %q (want train|val|test and/or trainids)", spec, o)
			}
		}
		return OpenCityscapes(path, split, train)
	case "synth":
		dom, opts, _ := strings.Cut(rest, ":")
		cfg := SynthConfig{Domain: dom}
		if opts != "" {
			for _, kv := range strings.Split(opts, ",") {
				k, v, _ := strings.Cut(kv, "=")
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("dataset spec %q: option %q wants a number", spec, kv)
				}
				if n == 0 && (k == "n" || k == "size") {
					return nil, fmt.Errorf("dataset spec %q: %s must be at least 1", spec, k)
				}
				switch k {
				case "n":
					cfg.N = int(n)
				case "seed":
					cfg.Seed = n
				case "size":
					cfg.W, cfg.H = int(n), int(n)
				default:
					return nil, fmt.Errorf("dataset spec %q: unknown option %q (want n, seed, size)", spec, k)
				}
			}
		}
		return OpenSynth(cfg)
	}
	return nil, fmt.Errorf("dataset spec %q: unknown kind %q\n%s", spec, kind, SpecHelp)
}

// splitOpts splits "PATH:a:b" into PATH and options. Options are the trailing
// colon-separated words that contain no path separator.
func splitOpts(s string) (string, []string) {
	parts := strings.Split(s, ":")
	i := len(parts)
	for i > 1 && !strings.ContainsAny(parts[i-1], `/\.`) && parts[i-1] != "" {
		i--
	}
	return strings.Join(parts[:i], ":"), parts[i:]
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// DetectLayout recognises a published dataset's layout in a bare path and
// returns its spec kind ("ade20k", "cityscapes", "cocostuff"), or "" for
// anything else (the folder format): a path needs no kind prefix when its
// layout says what it is.
func DetectLayout(root string) string {
	isDir := func(parts ...string) bool {
		st, err := os.Stat(filepath.Join(append([]string{root}, parts...)...))
		return err == nil && st.IsDir()
	}
	switch {
	case isDir("images", "training") && isDir("annotations", "training"):
		return "ade20k"
	case isDir("leftImg8bit") && isDir("gtFine"):
		return "cityscapes"
	case isDir("images") && isDir("stuffthingmaps_trainval2017"):
		return "cocostuff"
	}
	return ""
}
