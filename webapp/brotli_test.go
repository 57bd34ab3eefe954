package webapp

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestBrotliServedWhenCurrent: a browser that accepts br gets NAME.br when
// it decompresses to NAME (with its own ETag), gzip when the .br is stale
// or missing, and nothing compressed when it accepts neither.
func TestBrotliServedWhenCurrent(t *testing.T) {
	site := t.TempDir()
	wasm := bytes.Repeat([]byte("\x00asm wasm body "), 4000)
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(site, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	brotliOf := func(data []byte) []byte {
		var b bytes.Buffer
		w := brotli.NewWriter(&b)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	write("catsynth.wasm", wasm)
	write("catsynth.wasm.br", brotliOf(wasm))
	write("app.js", []byte("console.log(1)")) // no .br beside it
	srv := httptest.NewServer(Handler(ServerConfig{Dir: site}))
	defer srv.Close()

	get := func(path, accept string) (enc, etag string, body []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", accept)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		var r io.Reader = resp.Body
		switch enc = resp.Header.Get("Content-Encoding"); enc {
		case "br":
			r = brotli.NewReader(resp.Body)
		case "gzip":
			if r, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		body, err = io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s (%s): %v", path, enc, err)
		}
		return enc, resp.Header.Get("ETag"), body
	}
	cases := []struct {
		path, accept, want string
	}{
		{"/catsynth.wasm", "gzip, deflate, br", "br"},
		{"/catsynth.wasm", "br;q=0.5", "br"},
		{"/catsynth.wasm", "gzip, br;q=0", "gzip"},
		{"/catsynth.wasm", "gzip", "gzip"},
		{"/catsynth.wasm", "identity", ""},
		{"/app.js", "gzip, br", "gzip"}, // no app.js.br
	}
	etags := map[string]string{}
	for _, c := range cases {
		enc, etag, body := get(c.path, c.accept)
		if enc != c.want {
			t.Errorf("%s with Accept-Encoding %q: %q, want %q", c.path, c.accept, enc, c.want)
		}
		if c.path == "/catsynth.wasm" {
			if !bytes.Equal(body, wasm) {
				t.Errorf("%s (%s): the body is not the file", c.path, enc)
			}
			if prev, ok := etags[enc]; ok && prev != etag || !ok && containsValue(etags, etag) {
				t.Errorf("%s: ETag %q for %q collides or changed (%v)", c.path, etag, enc, etags)
			}
			etags[enc] = etag
		}
	}

	// A rebuilt wasm beside the old .br: gzip until the .br is made again.
	wasm = append(wasm, "rebuilt"...)
	write("catsynth.wasm", wasm)
	if enc, _, body := get("/catsynth.wasm", "gzip, br"); enc != "gzip" || !bytes.Equal(body, wasm) {
		t.Errorf("stale .br: got %q encoding (body equal %v), want gzip of the new file", enc, bytes.Equal(body, wasm))
	}
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}
