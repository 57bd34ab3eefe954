package webapp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Asset is a file the server holds in memory (an embedded model, the word
// vectors) and serves under /models/NAME.
type Asset struct {
	// Name is the URL name under /models/ ("tiny32.safetensors.zst").
	Name string
	// Kind tells the page what it is: "gan" (a generator model) or an
	// affinity estimator's input (KindGlove, KindBackbone, KindPrototypes
	// for MODEL.prototypes, KindSegmenter).
	Kind string
	Data []byte
}

// ServerConfig configures Handler.
type ServerConfig struct {
	// Dir is the static site (public/): index.html, app.js, worker.js,
	// sw.js, app.css, catsynth.wasm, wasm_exec.js.
	Dir string
	// Files maps URL paths to files elsewhere on disk; they win over Dir
	// (tests serve a wasm built into a temp dir this way).
	Files map[string]string
	// Assets are served from memory under /models/ and listed in
	// /models/index.json.
	Assets []Asset
}

// CSP is the Content-Security-Policy of every response: the page and its
// workers may load and connect to their own origin only (the promise that
// images never leave the browser, enforced by the browser itself); wasm
// needs 'wasm-unsafe-eval'; label maps and images are drawn from blob: and
// data: URLs.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"img-src 'self' blob: data:; style-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"

// compressible lists the extensions served gzip-compressed when the client
// accepts it (the .zst models are compressed already).
var compressible = map[string]string{
	".wasm": "application/wasm", ".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
	".json": "application/json", ".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
}

// Handler serves the page: static files from Dir (and Files), the assets
// under /models/ with an index at /models/index.json, text assets
// gzip-compressed (compressed once per file version and kept), every
// response with the CSP header and Cache-Control: no-cache (the browser
// revalidates with If-Modified-Since; the service worker keeps the offline
// copy).
func Handler(cfg ServerConfig) http.Handler {
	s := &server{cfg: cfg, gz: map[string]gzEntry{}, assets: map[string]Asset{}, started: time.Now()}
	for _, a := range cfg.Assets {
		s.assets[a.Name] = a
	}
	return s
}

type gzEntry struct {
	mod  time.Time
	size int64
	data []byte
}

type server struct {
	cfg     ServerConfig
	assets  map[string]Asset
	started time.Time

	mu sync.Mutex
	gz map[string]gzEntry // by disk path
}

// ModelIndex is the JSON of /models/index.json.
type ModelIndex struct {
	Models []ModelEntry `json:"models"`
}

// ModelEntry is one asset in the index.
type ModelEntry struct {
	Name  string `json:"name"`  // without extension ("tiny32")
	URL   string `json:"url"`   // "models/tiny32.safetensors.zst" (relative to the page)
	Kind  string `json:"kind"`  // "gan" or an estimator input (KindGlove, ...)
	Bytes int    `json:"bytes"` // file size, for the progress bar
}

func (s *server) index() []byte {
	var idx ModelIndex
	for _, a := range s.cfg.Assets {
		name := strings.TrimSuffix(strings.TrimSuffix(a.Name, ".zst"), ".safetensors")
		idx.Models = append(idx.Models, ModelEntry{Name: name,
			URL: "models/" + a.Name, Kind: a.Kind, Bytes: len(a.Data)})
	}
	if idx.Models == nil {
		idx.Models = []ModelEntry{}
	}
	b, _ := json.Marshal(idx)
	return b
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	p := path.Clean("/" + r.URL.Path)
	if !strings.HasPrefix(p, "/dev/") { // developer pages (dev/parity.html) use inline scripts
		h.Set("Content-Security-Policy", CSP)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if p == "/models/index.json" {
		h.Set("Content-Type", "application/json")
		http.ServeContent(w, r, "index.json", s.started, bytes.NewReader(s.index()))
		return
	}
	if name, ok := strings.CutPrefix(p, "/models/"); ok {
		if a, ok := s.assets[name]; ok {
			h.Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, name, s.started, bytes.NewReader(a.Data))
			return
		}
	}
	file, ok := s.cfg.Files[p]
	if !ok {
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		file = filepath.Join(s.cfg.Dir, filepath.FromSlash(p))
	}
	st, err := os.Stat(file)
	if err != nil || st.IsDir() {
		if st != nil && st.IsDir() {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	ext := strings.ToLower(path.Ext(p))
	ctype, text := compressible[ext]
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	if !text || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		http.ServeFile(w, r, file)
		return
	}
	data, err := s.gzipped(file, st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	http.ServeContent(w, r, p, st.ModTime(), bytes.NewReader(data))
}

// gzipped returns the gzip of file, compressing it again only when its
// size or modification time changed.
func (s *server) gzipped(file string, st os.FileInfo) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.gz[file]
	s.mu.Unlock()
	if ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e.data, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.gz[file] = gzEntry{mod: st.ModTime(), size: st.Size(), data: buf.Bytes()}
	s.mu.Unlock()
	return buf.Bytes(), nil
}

// CheckSite reports the files the page needs that dir lacks (the wasm
// build and Go's wasm_exec.js come from `make wasm`).
func CheckSite(dir string, files map[string]string) error {
	var missing []string
	for _, f := range []string{"index.html", "app.js", "engine.js", "transfer.js", "worker.js", "sw.js", "app.css", "catsynth.wasm", "wasm_exec.js"} {
		if _, ok := files["/"+f]; ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("webapp: %s lacks %s (run `make wasm` first)", dir, strings.Join(missing, ", "))
	}
	return nil
}
