package webapp

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Asset is a file the server holds in memory (an embedded model, the word
// vectors) and serves under /models/NAME.
type Asset struct {
	// Name is the URL name under /models/ ("tiny32.safetensors.zst").
	Name string
	// Kind tells the page what it is: KindModel (a model file of any
	// family) or an affinity estimator's input (KindGlove, KindBackbone,
	// KindPrototypes for MODEL.prototypes, KindSegmenter).
	Kind string
	Data []byte
}

// KindModel is the asset kind of model files (GAN or diffusion: the page
// reads the family from the file).
const KindModel = "model"

// ServerConfig configures Handler.
type ServerConfig struct {
	// Site is the static site (the page embedded in the binary, package
	// public); when nil, Dir on disk is.
	Site fs.FS
	// Dir is the static site (public/): index.html, app.js, worker.js,
	// sw.js, app.css, catsynth.wasm, wasm_exec.js.
	Dir string
	// Files maps URL paths to files elsewhere on disk; they win over Dir
	// (tests serve a wasm built into a temp dir this way).
	Files map[string]string
	// Assets are served from memory under /models/ and listed in
	// /models/index.json.
	Assets []Asset
	// Addr is the listening address ("127.0.0.1:8080"): requests must name
	// its host, or a loopback one, in their Host header (see hostAllowed).
	// Empty means every interface.
	Addr string
}

// CSP is the Content-Security-Policy of every response: the page and its
// workers may load and connect to their own origin only (the promise that
// images never leave the browser, enforced by the browser itself); wasm
// needs 'wasm-unsafe-eval'; label maps and images are drawn from blob: and
// data: URLs; no other site may frame it.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"img-src 'self' blob: data:; style-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'"

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
// response with the security headers of setSecurityHeaders and
// Cache-Control: no-cache (the browser revalidates with the content-hash
// ETag; the service worker keeps the offline copy) except URLs that carry
// the content's version (?v=HASH), which are immutable. It answers GET and
// HEAD without a body, for the hosts of hostAllowed, and nothing else.
func Handler(cfg ServerConfig) http.Handler {
	if cfg.Site == nil {
		cfg.Site = os.DirFS(cfg.Dir)
	}
	s := &server{cfg: cfg, files: map[string]cachedFile{}, assetVer: map[string]string{}, assets: map[string]Asset{}, started: time.Now(), gate: defaultBodyGate(), brotli: map[string]brotliCheck{}}
	for _, a := range cfg.Assets {
		s.assets[a.Name] = a
	}
	return s
}

type cachedFile struct {
	mod     time.Time
	size    int64
	data    []byte
	etag    string
	version string // of the uncompressed content
}

type server struct {
	cfg     ServerConfig
	assets  map[string]Asset
	started time.Time

	mu       sync.Mutex
	files    map[string]cachedFile // by site, path and encoding
	assetVer map[string]string     // content hash by asset name

	brotli map[string]brotliCheck // by site and path: is NAME.br current

	gate *bodyGate // large bodies take turns
}

// ModelIndex is the JSON of /models/index.json.
type ModelIndex struct {
	Models []ModelEntry `json:"models"`
}

// ModelEntry is one asset in the index.
type ModelEntry struct {
	Name  string `json:"name"`  // without extension ("tiny32")
	URL   string `json:"url"`   // "models/tiny32.safetensors.zst" (relative to the page)
	Kind  string `json:"kind"`  // KindModel or an estimator input (KindGlove, ...)
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
	setSecurityHeaders(h, p == "/dev" || strings.HasPrefix(p, "/dev/"))
	h.Set("Cache-Control", "no-cache")
	if s.refuse(w, r) {
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
			ver := s.assetVersion(name, a.Data)
			setCaching(h, r, `"`+ver+`"`, ver)
			s.serveContent(w, r, name, s.started, a.Data)
			return
		}
	}
	site, name := s.cfg.Site, strings.TrimPrefix(p, "/")
	if name == "" {
		name = "."
	}
	if file, ok := s.cfg.Files[p]; ok {
		site, name = os.DirFS(filepath.Dir(file)), filepath.Base(file)
	}
	st, err := fs.Stat(site, name)
	if err == nil && st.IsDir() {
		// path.Clean dropped a trailing slash: /dev/ is dev/index.html, /dev
		// is redirected to /dev/ (never to itself).
		if !strings.HasSuffix(r.URL.Path, "/") && p != "/" {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
		st, err = fs.Stat(site, name)
	}
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	ext := strings.ToLower(path.Ext(name))
	ctype, text := compressible[ext]
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	enc := ""
	if text {
		h.Add("Vary", "Accept-Encoding")
		switch {
		case accepts(r, "br") && s.hasBrotli(site, name, st):
			enc = "br"
		case accepts(r, "gzip"):
			enc = "gzip"
		}
	}
	e, err := s.content(site, name, st, enc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	setCaching(h, r, e.etag, e.version)
	mod := st.ModTime()
	if mod.IsZero() { // files embedded in the binary: as old as the server
		mod = s.started
	}
	s.serveContent(w, r, name, mod, e.data)
}

// serveContent is http.ServeContent (ranges, conditional requests) with
// large bodies going through the gate.
func (s *server) serveContent(w http.ResponseWriter, r *http.Request, name string, mod time.Time, data []byte) {
	if len(data) >= largeBody && r.Method == http.MethodGet && s.gate != nil {
		defer s.gate.enter()()
	}
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}

// content returns a static file and its ETag in the encoding asked for
// ("", "gzip" or "br"): read (and gzipped) once per file version (size and
// modification time) and kept, so that concurrent first requests share one
// compression and later ones allocate nothing. Brotli is never made here
// (its best level takes a minute for the wasm): it is NAME.br beside the
// file, written at build time (internal/cmd/precompress) and checked
// against the file by hasBrotli.
func (s *server) content(site fs.FS, name string, st fs.FileInfo, enc string) (cachedFile, error) {
	key := fmt.Sprintf("%p/%s/%s", site, name, enc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.files[key]; ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e, nil
	}
	raw, err := fs.ReadFile(site, name)
	if err != nil {
		return cachedFile{}, err
	}
	e := cachedFile{mod: st.ModTime(), size: st.Size(), data: raw, version: version(raw)}
	e.etag = `"` + e.version + `"`
	switch enc {
	case "br":
		if e.data, err = fs.ReadFile(site, name+".br"); err != nil {
			return cachedFile{}, err
		}
		e.etag = `"` + e.version + `-br"`
	case "gzip":
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			return cachedFile{}, err
		}
		e.data, e.etag = buf.Bytes(), `"`+e.version+`-gz"`
	}
	s.files[key] = e
	return e, nil
}

// hasBrotli reports whether site holds NAME.br and it decompresses to the
// file's current content (a wasm rebuilt by hand leaves a stale one: then
// gzip is served). The check runs once per file version.
func (s *server) hasBrotli(site fs.FS, name string, st fs.FileInfo) bool {
	key := fmt.Sprintf("%p/%s", site, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.brotli[key]; ok && c.mod.Equal(st.ModTime()) && c.size == st.Size() {
		return c.ok
	}
	ok := false
	if br, err := fs.ReadFile(site, name+".br"); err == nil {
		if raw, err := fs.ReadFile(site, name); err == nil {
			got, err := io.ReadAll(io.LimitReader(brotli.NewReader(bytes.NewReader(br)), int64(len(raw))+1))
			ok = err == nil && bytes.Equal(got, raw)
		}
	}
	s.brotli[key] = brotliCheck{mod: st.ModTime(), size: st.Size(), ok: ok}
	return ok
}

type brotliCheck struct {
	mod  time.Time
	size int64
	ok   bool
}

// accepts reports whether the request's Accept-Encoding lists coding with
// a non-zero quality.
func accepts(r *http.Request, coding string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// version is a file's content hash as the page may put it in a URL
// (?v=VERSION): such a URL names one content forever and is cached as
// immutable.
func version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// assetVersion is an asset's content hash, computed once.
func (s *server) assetVersion(name string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.assetVer[name]
	if !ok {
		v = version(data)
		s.assetVer[name] = v
	}
	return v
}

// setCaching sets the validator and, for a URL that names the content's
// version, a year of immutable caching; everything else is revalidated.
func setCaching(h http.Header, r *http.Request, etag, ver string) {
	h.Set("ETag", etag)
	if v := r.URL.Query().Get("v"); v != "" && v == ver {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
}

// CheckSite reports the files the page needs that site lacks (the wasm
// build and Go's wasm_exec.js come from `make wasm`); what names the site
// in the message.
func CheckSite(site fs.FS, what string, files map[string]string) error {
	var missing []string
	for _, f := range []string{"index.html", "app.js", "engine.js", "transfer.js", "worker.js", "sw.js", "app.css", "catsynth.wasm", "wasm_exec.js"} {
		if _, ok := files["/"+f]; ok {
			continue
		}
		if _, err := fs.Stat(site, f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("webapp: %s lacks %s (run `make wasm` first)", what, strings.Join(missing, ", "))
	}
	return nil
}
