package webapp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	wasm := bytes.Repeat([]byte("\x00asm wasm body "), 1000)
	for name, data := range map[string][]byte{"index.html": []byte("<!doctype html><title>x</title>"), "app.wasm": wasm, "pic.png": []byte("\x89PNG")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	extra := filepath.Join(t.TempDir(), "other.js")
	os.WriteFile(extra, []byte("console.log(1)"), 0o644)
	srv := httptest.NewServer(Handler(ServerConfig{Dir: dir, Files: map[string]string{"/wasm_exec.js": extra},
		Assets: []Asset{{Name: "tiny.safetensors.zst", Kind: KindModel, Data: []byte("model bytes")}}}))
	defer srv.Close()

	get := func(path string, gz bool) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	for _, tc := range []struct {
		path     string
		gz       bool
		status   int
		ctype    string
		encoding string
		body     []byte
	}{
		{"/", true, 200, "text/html; charset=utf-8", "gzip", []byte("<!doctype html><title>x</title>")},
		{"/app.wasm", true, 200, "application/wasm", "gzip", wasm},
		{"/app.wasm", false, 200, "application/wasm", "", wasm},
		{"/pic.png", true, 200, "image/png", "", []byte("\x89PNG")},
		{"/wasm_exec.js", true, 200, "text/javascript; charset=utf-8", "gzip", []byte("console.log(1)")},
		{"/models/tiny.safetensors.zst", true, 200, "application/octet-stream", "", []byte("model bytes")},
		{"/models/none.safetensors.zst", true, 404, "", "", nil},
		{"/../../etc/passwd", true, 404, "", "", nil},
	} {
		resp, body := get(tc.path, tc.gz)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
			continue
		}
		if resp.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("%s: no CSP header", tc.path)
		}
		if tc.status != 200 {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != tc.ctype {
			t.Errorf("%s: content type %q, want %q", tc.path, ct, tc.ctype)
		}
		if enc := resp.Header.Get("Content-Encoding"); enc != tc.encoding {
			t.Errorf("%s: encoding %q, want %q", tc.path, enc, tc.encoding)
		}
		if tc.encoding == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, tc.body) {
			t.Errorf("%s: body %q, want %q", tc.path, body, tc.body)
		}
	}
	_, body := get("/models/index.json", false)
	var idx ModelIndex
	if err := json.Unmarshal(body, &idx); err != nil || len(idx.Models) != 1 || idx.Models[0].Name != "tiny" || idx.Models[0].Bytes != 11 {
		t.Errorf("index %s: %v", body, err)
	}
	if err := CheckSite(os.DirFS(dir), dir, nil); err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Errorf("CheckSite on an incomplete site: %v", err)
	}
}

// TestFolderRedirect is the regression test for /dev/ answering a 301 to
// itself (path.Clean drops the slash): /dev/ serves dev/index.html and /dev
// redirects to /dev/, and an embedded site (fs.FS) serves the same.
func TestFolderRedirect(t *testing.T) {
	site := fstest.MapFS{"index.html": {Data: []byte("top")}, "dev/index.html": {Data: []byte("dev page")}}
	srv := httptest.NewServer(Handler(ServerConfig{Site: site}))
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path, body, location string
		status               int
	}{
		{"/", "top", "", 200},
		{"/dev/", "dev page", "", 200},
		{"/dev", "", "/dev/", 301},
		{"/dev/nothing", "", "", 404},
	} {
		resp, err := noFollow.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(body) != tc.body) || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q location %q, want %d %q %q", tc.path, resp.StatusCode, body, resp.Header.Get("Location"), tc.status, tc.body, tc.location)
		}
	}
}
