package webapp

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Limits of the server (NewHTTPServer and Handler).
const (
	// MaxURLBytes is the longest request target the handler answers; the
	// page's own URLs are under 100 bytes.
	MaxURLBytes = 2048
	// MaxHeaderBytes bounds the request line and headers together.
	MaxHeaderBytes = 16 << 10
	// IdleTimeout closes keep-alive connections that stay idle this long.
	IdleTimeout = 60 * time.Second
	// ReadHeaderTimeout bounds a client that sends its headers slowly.
	ReadHeaderTimeout = 10 * time.Second
	// WriteTimeout bounds one response (the 10 MB wasm over a slow link).
	WriteTimeout = 5 * time.Minute
)

// NewHTTPServer wraps h in an http.Server with the limits above: no
// connection, idle or half-sent, is held forever.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadHeaderTimeout, // requests carry no body
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// "OPTIONS *" gets the 405 of every other method, not an empty 200.
		DisableGeneralOptionsHandler: true,
	}
}

// setSecurityHeaders sets the headers every response carries. dev pages
// (dev/parity.html) use inline scripts and get no CSP, but may not be
// framed either.
func setSecurityHeaders(h http.Header, dev bool) {
	if !dev {
		h.Set("Content-Security-Policy", CSP)
	} else {
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// refuse answers requests the static server never serves: other methods,
// bodies, overlong URLs and foreign Host headers. It reports whether it
// answered.
func (s *server) refuse(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the server serves static files (GET, HEAD)", http.StatusMethodNotAllowed)
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		http.Error(w, "request bodies are not accepted", http.StatusRequestEntityTooLarge)
	case len(r.RequestURI) > MaxURLBytes:
		http.Error(w, fmt.Sprintf("URL longer than %d bytes", MaxURLBytes), http.StatusRequestURITooLong)
	case !s.hostAllowed(r.Host):
		// A foreign name that resolves here is a DNS-rebinding attempt
		// (another site's script reaching this server as its own origin).
		http.Error(w, fmt.Sprintf("host %q is not served here (use http://127.0.0.1 or localhost, or the --addr host)", r.Host),
			http.StatusMisdirectedRequest)
	default:
		return false
	}
	return true
}

// hostAllowed accepts loopback names and IPs, the host of the listening
// address, and, when it listens on every interface, any IP literal and this
// machine's host name. A DNS-rebinding page arrives with its own domain
// name, which none of these match.
func (s *server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	listen := s.listenHost()
	if listen == "" || listen == "0.0.0.0" || listen == "::" {
		if ip != nil {
			return true
		}
		name, err := os.Hostname()
		return err == nil && strings.EqualFold(host, name)
	}
	return host == listen
}

// listenHost is the host part of ServerConfig.Addr, lower-cased.
func (s *server) listenHost() string {
	h, _, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		h = s.cfg.Addr
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}
