package browser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"sync"
	"time"
)

// Server is an HTTP server on 127.0.0.1 (a free port) that records the
// request paths it answered.
type Server struct {
	// URL is the base address, "http://127.0.0.1:PORT" (no trailing slash).
	URL string

	srv  *http.Server
	done chan struct{}

	mu     sync.Mutex
	served []string
	err    error
}

// Serve starts serving h on 127.0.0.1. Close stops it.
func Serve(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browser: serve: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.served = append(s.served, r.URL.Path)
			s.mu.Unlock()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Served returns the request paths answered so far, in order.
func (s *Server) Served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.served...)
}

// Close stops the server, waiting up to 5 s for open requests, and returns
// any error the server loop hit.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Files serves the directory dir, plus extra URL paths mapped to files
// elsewhere on disk (e.g. "/wasm_exec.js" -> GOROOT's copy, "/app.wasm" ->
// a wasm built into a temp dir). Every response carries Cache-Control:
// no-store so a page never runs a stale build. .wasm files are served as
// application/wasm, which WebAssembly.instantiateStreaming requires.
func Files(dir string, extra map[string]string) http.Handler {
	fs := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		p := path.Clean(r.URL.Path)
		if path.Ext(p) == ".wasm" {
			w.Header().Set("Content-Type", "application/wasm")
		}
		if file, ok := extra[p]; ok {
			http.ServeFile(w, r, file)
			return
		}
		fs.ServeHTTP(w, r)
	})
}
