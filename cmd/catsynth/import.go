package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"catsynth/backbone/keras"
)

func init() {
	register(command{
		name:    "import",
		summary: "import pretrained backbones (tfjs: the nsfwjs npm package's Keras models)",
		run:     runImport,
	})
}

func runImport(ctx context.Context, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(os.Stderr, "usage: catsynth import tfjs [flags]   (the only source so far)\nRun 'catsynth import tfjs -h' for its flags.")
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "tfjs" {
		fmt.Fprintln(os.Stderr, "usage: catsynth import tfjs [flags]   (the only source so far)")
		return fmt.Errorf("%w: want 'import tfjs'", errUsage)
	}
	fs := newFlags("import tfjs", "[--package DIR] [--models mobilenet_v2,inception_v3] [--out DIR] [--precision auto|f32|f16]")
	pkg := fs.String("package", "", "an unpacked nsfwjs package (the folder with package.json); empty: fetch "+keras.NSFWJSPackage+"@"+keras.NSFWJSVersion+" with npm")
	models := fs.String("models", strings.Join(keras.NSFWJSModels, ","), "comma-separated models to convert")
	out := fs.String("out", filepath.Join("weights", "backbones"), "output folder")
	precision := fs.String("precision", "auto", "weight storage: f32, f16, or auto (f32 for mobilenet_v2, 3.5 MB; f16 for inception_v3, 20 MB instead of 23)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	if *precision != "auto" && *precision != "f32" && *precision != "f16" {
		return fmt.Errorf("%w: --precision %q (want auto, f32 or f16)", errUsage, *precision)
	}
	dev, err := openDevice("cpu")
	if err != nil {
		return err
	}
	dir := *pkg
	if dir == "" {
		tmp, err := os.MkdirTemp("", "catsynth-nsfwjs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		spec := keras.NSFWJSPackage + "@" + keras.NSFWJSVersion
		fmt.Fprintf(os.Stderr, "fetching %s with npm...\n", spec)
		if dir, err = keras.FetchNPM(ctx, spec, tmp); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, m := range strings.Split(*models, ",") {
		m = strings.TrimSpace(m)
		start := time.Now()
		net, err := keras.ImportNSFWJS(dev, dir, m)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, keras.BackboneFile(m))
		// The package's weights hold 256 values per tensor, so zstd packs f32
		// as tightly as f16 for MobileNetV2; InceptionV3 in f32 would come
		// close to the repository's 25 MB file budget.
		f16 := *precision == "f16" || (*precision == "auto" && m == "inception_v3")
		err = net.Save(path, f16)
		n := net.NumParams()
		feat := net.Layout.Shapes[net.Spec.Features]
		net.Release()
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d parameters, features %v -> %s (%.1f MB, %.1fs)\n", m, n, feat, path, float64(st.Size())/1e6, time.Since(start).Seconds())
	}
	return nil
}
