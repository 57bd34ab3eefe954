package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"catsynth/public"

	"catsynth/app"

	modelpkg "catsynth/models"
	"catsynth/nn"
	"catsynth/webapp"
	"catsynth/weights/backbones"
	"catsynth/weights/ganmodels"
	"catsynth/weights/glove"
	"catsynth/weights/segmenters"
)

func init() {
	register(command{name: "serve", summary: "serve the web page (public/) with the default models on 127.0.0.1:8080", run: runServe})
}

// runServe serves the web page: the static files of --dir (built by
// `make wasm`), the embedded generator models and the GloVe table under
// /models/. It prints the URL and runs until interrupted.
func runServe(ctx context.Context, args []string) error {
	fs := newFlags("serve", "[--addr 127.0.0.1:8080] [--dir public] [--model FILE]...")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (keep 127.0.0.1 unless you mean to share the page)")
	dir := fs.String("dir", "", "serve the static site from this folder (development: public/ after make wasm) instead of the page built into the binary")
	var models multiFlag
	fs.Var(&models, "model", "also offer this generator or adapted model file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return errors.Join(errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	var site iofs.FS = public.FS
	what := "the page built into this binary"
	if *dir != "" {
		site, what = os.DirFS(*dir), *dir
	}
	if err := webapp.CheckSite(site, what, nil); err != nil {
		if *dir == "" {
			return fmt.Errorf("%w; `make build` builds the page into the binary, or serve a built site with --dir public", err)
		}
		return err
	}
	assets, notes := defaultAssets()
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "serve:", n)
	}
	for _, m := range models {
		data, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		// The page would fail on it after the download: say so now, naming
		// the file (a truncated checkpoint, a text file, a training state).
		ck, err := nn.DecodeCheckpoint(data, m)
		if err != nil {
			return fmt.Errorf("serve --model: %w", err)
		}
		if _, err := modelpkg.Inspect(ck); err != nil {
			return fmt.Errorf("serve --model %s: not a model the page can open: %w", m, err)
		}
		name := filepath.Base(m)
		if !strings.HasSuffix(name, ".safetensors.zst") {
			name = strings.TrimSuffix(name, ".safetensors") + ".safetensors.zst" // the page decodes either
		}
		assets = append([]webapp.Asset{{Name: name, Kind: webapp.KindModel, Data: data}}, assets...)
		if protos, err := os.ReadFile(besidePrototypes(m)); err == nil {
			base := strings.TrimSuffix(name, ".safetensors.zst")
			assets = append(assets, webapp.Asset{Name: base + ganmodels.PrototypesExt, Kind: app.KindPrototypes, Data: protos})
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := webapp.NewHTTPServer(webapp.Handler(webapp.ServerConfig{Site: site, Assets: assets, Addr: *addr}))
	fmt.Printf("catsynth: serving %s on http://%s/ (Ctrl-C to stop)\n", what, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// defaultAssets are the embedded generator models in preference order
// (empty or missing files are skipped with a note), their stored
// prototypes, and the estimators' inputs.
func defaultAssets() (assets []webapp.Asset, notes []string) {
	seen := map[string]bool{}
	names := append(append([]string(nil), ganmodels.Preference...), ganmodels.Names()...)
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		data, err := ganmodels.Bytes(n)
		if err != nil {
			continue
		}
		if len(data) == 0 {
			notes = append(notes, "embedded model "+n+" is an empty file; not offered")
			continue
		}
		assets = append(assets, webapp.Asset{Name: n + ".safetensors.zst", Kind: webapp.KindModel, Data: data})
		if protos, err := ganmodels.Prototypes(n); err == nil {
			assets = append(assets, webapp.Asset{Name: n + ganmodels.PrototypesExt, Kind: app.KindPrototypes, Data: protos})
		}
	}
	// The in-page affinity estimators' inputs: word vectors, the feature
	// network and the source segmenter (fetched by the page when first used).
	assets = append(assets, webapp.Asset{Name: glove.File, Kind: app.KindGlove, Data: glove.Table},
		webapp.Asset{Name: backbones.MobileNetV2File, Kind: app.KindBackbone, Data: backbones.MobileNetV2},
		webapp.Asset{Name: segmenters.SourceFile, Kind: app.KindSegmenter, Data: segmenters.Source})
	return assets, notes
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
