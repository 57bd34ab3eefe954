package webapp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guardServer serves a small site inside a folder whose parent holds a
// secret file, through NewHTTPServer's limits.
func guardServer(t *testing.T, addr string) *httptest.Server {
	t.Helper()
	root := t.TempDir()
	site := filepath.Join(root, "site")
	for name, data := range map[string]string{
		"secret.txt":          "SECRET",
		"site/index.html":     "<!doctype html>page",
		"site/app.js":         "console.log(1)",
		"site/sub/a.txt":      "in a folder without index.html",
		"site/catsynth.wasm":  "\x00asm",
		"site/dev/index.html": "dev",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := Handler(ServerConfig{Dir: site, Addr: addr, Assets: []Asset{{Name: "m.safetensors.zst", Kind: "gan", Data: []byte("model")}}})
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// rawRequest sends one request exactly as written (no client-side cleaning
// of the path) and returns the status and body.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response to %.80q: %v", req, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServerRefuses(t *testing.T) {
	srv := guardServer(t, "127.0.0.1:0")
	addr := srv.Listener.Addr().String()
	get := func(target, host string) string {
		return fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	}
	long := "/" + strings.Repeat("a", MaxURLBytes)
	huge := "/" + strings.Repeat("a", 2*MaxHeaderBytes)
	cases := []struct {
		name   string
		req    string
		status int
		body   string // in the body
	}{
		{"page", get("/", addr), 200, "page"},
		{"dot-dot", get("/../secret.txt", addr), 404, ""},
		{"dot-dot deep", get("/../../../../etc/passwd", addr), 404, ""},
		{"encoded dot-dot", get("/%2e%2e/secret.txt", addr), 404, ""},
		{"encoded slash", get("/..%2fsecret.txt", addr), 404, ""},
		{"double-encoded", get("/%252e%252e/secret.txt", addr), 404, ""},
		{"absolute path", get("//"+filepath.Join(os.TempDir(), "x"), addr), 404, ""},
		{"absolute-form target", get("http://"+addr+"/../secret.txt", addr), 404, ""},
		{"backslash", get(`/..\secret.txt`, addr), 404, ""},
		{"encoded backslash", get("/..%5csecret.txt", addr), 404, ""},
		{"models dot-dot", get("/models/../../secret.txt", addr), 404, ""},
		{"NUL", get("/index.html%00.png", addr), 404, ""},
		{"no listing", get("/sub/", addr), 404, ""},
		{"long URL", get(long, addr), 414, "URL longer than"},
		{"huge URL", get(huge, addr), 431, ""},
		{"foreign host", get("/", "evil.example"), 421, "evil.example"},
		{"rebinding-style host", get("/", "127.0.0.1.evil.example:80"), 421, ""},
		{"localhost", get("/", "localhost"), 200, "page"},
		{"localhost port", get("/", "LOCALHOST:8080"), 200, "page"},
		{"ipv6 loopback", get("/", "[::1]:8080"), 200, "page"},
		{"other loopback ip", get("/", "127.1.2.3"), 200, "page"},
		{"no host (HTTP/1.0)", "GET / HTTP/1.0\r\n\r\n", 421, ""},
		{"POST", "POST / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", 405, "GET, HEAD"},
		{"PUT", "PUT /index.html HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405, ""},
		{"DELETE", "DELETE /index.html HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 405, ""},
		{"OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 405, ""},
		{"TRACE", "TRACE / HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 405, ""},
		{"GET with body", "GET / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 413, "bodies"},
		{"GET chunked body", "GET / HTTP/1.1\r\nHost: " + addr + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 413, ""},
	}
	for _, c := range cases {
		status, body := rawRequest(t, addr, c.req)
		if status != c.status || !strings.Contains(body, c.body) {
			t.Errorf("%s: %d %.100q, want %d with %q", c.name, status, body, c.status, c.body)
		}
		if strings.Contains(body, "SECRET") {
			t.Errorf("%s: served the file outside the site", c.name)
		}
	}
}

func TestServerHeaders(t *testing.T) {
	srv := guardServer(t, "127.0.0.1:0")
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for _, c := range []struct {
		path, ctype, csp string
		status           int
	}{
		{"/", "text/html; charset=utf-8", CSP, 200},
		{"/catsynth.wasm", "application/wasm", CSP, 200},
		{"/app.js", "text/javascript; charset=utf-8", CSP, 200},
		{"/models/m.safetensors.zst", "application/octet-stream", CSP, 200},
		{"/missing", "", CSP, 404},
		{"/dev/", "text/html; charset=utf-8", "frame-ancestors 'none'", 200},
	} {
		resp, err := srv.Client().Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.path, resp.StatusCode, c.status)
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", c.path, k, h.Get(k), v)
			}
		}
		if h.Get("Content-Security-Policy") != c.csp {
			t.Errorf("%s: CSP %q, want %q", c.path, h.Get("Content-Security-Policy"), c.csp)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: CSP lacks frame-ancestors 'none'", c.path)
		}
		if c.ctype != "" && h.Get("Content-Type") != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, h.Get("Content-Type"), c.ctype)
		}
	}
	if !strings.Contains(CSP, "'wasm-unsafe-eval'") || strings.Contains(CSP, "*") || strings.Contains(CSP, "http") {
		t.Errorf("CSP %q must allow wasm and no other origin", CSP)
	}
}

// TestServerCaching: every file has a content-hash ETag (a revalidation is
// a 304 even after a restart, when embedded files' times change), and a
// URL carrying that hash as ?v= is cached as immutable.
func TestServerCaching(t *testing.T) {
	srv := guardServer(t, "127.0.0.1:0")
	for _, path := range []string{"/catsynth.wasm", "/app.js", "/models/m.safetensors.zst"} {
		for _, gz := range []bool{false, true} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || len(etag) < 10 || resp.Header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("%s gz=%v: %d ETag %q Cache-Control %q", path, gz, resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
			}
			req.Header.Set("If-None-Match", etag)
			resp, err = http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("%s gz=%v: revalidation with its ETag got %d, want 304", path, gz, resp.StatusCode)
			}
			ver := strings.TrimSuffix(strings.Trim(etag, `"`), "-gz")
			for v, want := range map[string]string{ver: "public, max-age=31536000, immutable", "0000": "no-cache"} {
				resp, err := http.Get(srv.URL + path + "?v=" + v)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if cc := resp.Header.Get("Cache-Control"); cc != want {
					t.Errorf("%s?v=%s: Cache-Control %q, want %q", path, v, cc, want)
				}
			}
		}
	}
}

func TestHostAllowed(t *testing.T) {
	name, _ := os.Hostname()
	cases := []struct {
		listen, host string
		ok           bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "app.localhost", true},
		{"127.0.0.1:8080", "localhost.", true},
		{"127.0.0.1:8080", "[::1]:8080", true},
		{"127.0.0.1:8080", "192.168.1.5:8080", false},
		{"127.0.0.1:8080", "evil.example:8080", false},
		{"127.0.0.1:8080", "localhost.evil.example", false},
		{"127.0.0.1:8080", "", false},
		{"192.168.1.5:8080", "192.168.1.5:8080", true},
		{"192.168.1.5:8080", "10.0.0.1:8080", false},
		{"myhost.lan:8080", "MyHost.lan:8080", true},
		{"myhost.lan:8080", "other.lan:8080", false},
		{"0.0.0.0:8080", "10.0.0.7:8080", true},
		{":8080", "[fe80::1]:8080", true},
		{":8080", name + ":8080", name != ""},
		{":8080", "evil.example", false},
		{"[::]:8080", "evil.example:8080", false},
	}
	for _, c := range cases {
		s := &server{cfg: ServerConfig{Addr: c.listen}}
		if got := s.hostAllowed(c.host); got != c.ok {
			t.Errorf("listening on %q, Host %q: allowed %v, want %v", c.listen, c.host, got, c.ok)
		}
	}
}

// TestNewHTTPServerLimits: the server built by NewHTTPServer drops a client
// that never finishes its headers (no connection held forever), checked
// with a shortened ReadHeaderTimeout.
func TestNewHTTPServerLimits(t *testing.T) {
	s := NewHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.IdleTimeout <= 0 || s.WriteTimeout <= 0 || s.MaxHeaderBytes != MaxHeaderBytes {
		t.Fatalf("limits not set: %+v", s)
	}
	srv := httptest.NewUnstartedServer(s.Handler)
	srv.Config = NewHTTPServer(s.Handler)
	srv.Config.ReadHeaderTimeout = 200 * time.Millisecond
	srv.Config.IdleTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	for _, c := range []struct{ name, send string }{
		{"half-sent headers", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"},
		{"idle keep-alive", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, c.send)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.Copy(io.Discard, conn) // returns when the server closes
		conn.Close()
		if err != nil {
			t.Errorf("%s: connection still open after %v: %v", c.name, time.Since(start), err)
		}
	}
}
