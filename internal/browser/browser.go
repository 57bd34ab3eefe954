// Package browser drives a headless Chromium from Go tests: it starts the
// browser with the flags WebGPU needs on machines without a GPU, serves a
// directory from 127.0.0.1, collects the console (including uncaught
// exceptions), records every network request the page makes, takes
// screenshots, and bounds every wait with a timeout (a Go panic in wasm never
// writes a result, so an unbounded wait would hang the test run).
//
// Typical use in a test:
//
//	exe := browser.Need(t) // skips, or fails when the run requires a browser
//	srv, _ := browser.Serve(handler)
//	defer srv.Close()
//	b, _ := browser.Start(ctx, browser.Options{ExecPath: exe})
//	defer b.Close()
//	b.Navigate(srv.URL+"/dev/parity.html", 10*time.Second)
//	res, err := browser.Wait[string](b, "window.result", time.Minute)
//	if err != nil { t.Fatalf("%v\nconsole:\n%s", err, b.ConsoleText()) }
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Environment variables that decide whether a missing browser skips or fails.
const (
	// EnvRequireBrowser set to 1 makes Need fail instead of skip.
	EnvRequireBrowser = "CATSYNTH_REQUIRE_BROWSER"
	// EnvRequireGPU set to 1 (as `make test` does) also requires the browser,
	// because the browser is where the WebGPU backend runs as wasm.
	EnvRequireGPU = "CATSYNTH_REQUIRE_GPU"
	// EnvChromium overrides the browser binary path.
	EnvChromium = "CATSYNTH_CHROMIUM"
)

// ErrNotFound means no Chromium binary was found.
var ErrNotFound = errors.New("browser: no Chromium found (install the chromium package, or set " + EnvChromium + ")")

// candidates are the binary names looked up on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless_shell"}

// Find returns the path of the Chromium binary: $CATSYNTH_CHROMIUM when set,
// else the first of chromium, chromium-browser, google-chrome-stable,
// google-chrome and headless_shell found on PATH (Debian: /usr/bin/chromium).
func Find() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("browser: %s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Required reports whether the environment demands a browser: either
// CATSYNTH_REQUIRE_BROWSER=1 or CATSYNTH_REQUIRE_GPU=1.
func Required() bool {
	return os.Getenv(EnvRequireBrowser) == "1" || os.Getenv(EnvRequireGPU) == "1"
}

// Need returns the Chromium path for a test. When none is found it skips the
// test, or fails it when Required() is true.
func Need(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if err == nil {
		return p
	}
	if Required() {
		tb.Fatalf("%v; %s or %s is 1, so the browser tests must run", err, EnvRequireBrowser, EnvRequireGPU)
	}
	tb.Skipf("%v; skipping (set %s=1 to make this a failure)", err, EnvRequireBrowser)
	return ""
}

// Options configure Start. The zero value is usable when Chromium is on PATH.
type Options struct {
	// ExecPath is the browser binary; empty means Find().
	ExecPath string
	// Flags are extra command-line flags (name without dashes -> value,
	// true for a bare flag, false to remove a default one).
	Flags map[string]any
	// Width and Height of the window in CSS pixels; 0 means 1024x768.
	Width, Height int
	// StartTimeout bounds the browser start; 0 means 30 s.
	StartTimeout time.Duration
	// Logf, when set, receives every console message as it arrives
	// (t.Logf in tests shows the console live with -v).
	Logf func(format string, args ...any)
	// DownloadDir receives the page's downloads; empty refuses them (a test
	// must not leave files in the user's Downloads folder).
	DownloadDir string
	// NetLog, when set, is the file Chromium writes its netlog to (see
	// ReadNetLog); Close then closes the browser gracefully so that the log
	// is complete.
	NetLog string
}

// QuietFeatures are the Chromium features DefaultFlags turns off because,
// read in a netlog, they send requests of the browser's own with none of
// the switches below: autofill form-signature lookups about the page
// (content-autofill.googleapis.com), optimization-guide hints and model
// downloads, the network time query (clients2.google.com/time), the media
// router's device discovery, translate, and certificate-transparency list
// updates. Translate and BlinkGenPropertyTrees are chromedp's own defaults
// for this flag, which a value here replaces.
var QuietFeatures = []string{
	"Translate", "BlinkGenPropertyTrees",
	"AutofillServerCommunication", "OptimizationHints", "OptimizationGuideModelDownloading",
	"NetworkTimeServiceQuerying", "MediaRouter", "DialMediaRouteProvider",
	"CertificateTransparencyComponentUpdater",
}

// DefaultFlags returns the command-line flags Start passes on top of
// chromedp's defaults (headless, no extensions, no default apps, ...). They
// were verified on these machines: without enable-unsafe-webgpu, requestAdapter()
// returns null for the software (SwiftShader) adapter; disable-quic, the
// background-networking, component-update and sync switches, no-pings,
// disable-domain-reliability and the QuietFeatures keep a test offline; the
// host resolver rules answer every name but the loopback's with "not found",
// so what the browser still tries to send (docs/RELIABILITY.md, Privacy)
// does not even reach a DNS server. The user data dir is a fresh temp dir
// that chromedp creates for each browser and removes when it closes.
func DefaultFlags() map[string]any {
	return map[string]any{
		"headless":                      true,
		"no-sandbox":                    true,
		"no-first-run":                  true,
		"disable-background-networking": true,
		"disable-component-update":      true,
		"disable-sync":                  true,
		"disable-quic":                  true,
		"no-pings":                      true,
		"disable-domain-reliability":    true,
		"disable-features":              strings.Join(QuietFeatures, ","),
		"host-resolver-rules":           "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
		"enable-unsafe-webgpu":          true,
	}
}

// Message is one console message or uncaught exception of the page.
type Message = chromedp.ConsoleMessage

// Request is one network request the page made.
type Request struct {
	Method, URL string
	// Type is the resource type ("Document", "Script", "Fetch", ...).
	Type string
}

// Browser is a running headless Chromium with one tab. Its methods are safe
// to call from one goroutine at a time (chromedp tabs are not concurrent);
// Console, Requests and their text forms may be called from any goroutine.
type Browser struct {
	tab         context.Context
	cancelTab   context.CancelFunc
	cancelAlloc context.CancelFunc
	collectors  sync.WaitGroup
	logf        func(string, ...any)
	graceful    bool // close through the browser (a netlog is being written)

	mu       sync.Mutex
	console  []Message
	requests []Request
	output   bytes.Buffer // browser process stdout+stderr (capped)
}

// maxOutput caps the kept browser process output.
const maxOutput = 64 << 10

type outputWriter struct{ b *Browser }

func (w outputWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if room := maxOutput - w.b.output.Len(); room > 0 {
		w.b.output.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Start launches Chromium and opens one blank tab. Console messages and
// network requests are collected from the start. ctx bounds only the start;
// the browser lives until Close.
func Start(ctx context.Context, opt Options) (*Browser, error) {
	exe := opt.ExecPath
	if exe == "" {
		var err error
		if exe, err = Find(); err != nil {
			return nil, err
		}
	}
	w, h := opt.Width, opt.Height
	if w == 0 || h == 0 {
		w, h = 1024, 768
	}
	b := &Browser{logf: opt.Logf, graceful: opt.NetLog != ""}
	flags := DefaultFlags()
	if opt.NetLog != "" {
		maps.Copy(flags, NetLogFlags(opt.NetLog))
	}
	maps.Copy(flags, opt.Flags)
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.WindowSize(w, h),
		chromedp.CombinedOutput(outputWriter{b}),
	)
	for name, v := range flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, v))
	}
	// The browser's lifetime is not ctx's: the first action on a tab binds
	// the browser to its context, so start it on a context that only Close
	// cancels and race that start against ctx and the start timeout.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	b.tab, b.cancelTab, b.cancelAlloc = tab, cancelTab, cancelAlloc

	timeout := opt.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	started := make(chan error, 1)
	b.collectors.Add(2)
	go func() {
		// Console and Events subscribe when they return; Console also starts
		// the browser and attaches the tab. Both return (with an iterator that
		// yields the error) when the tab's context ends.
		console := chromedp.Console(tab)
		requests := chromedp.Events(tab, network.RequestWillBeSent)
		go b.collectConsole(console)
		go b.collectRequests(requests)
		started <- chromedp.Do(tab)
	}()
	select {
	case err := <-started:
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("browser: start %s: %w%s", exe, err, b.outputTail())
		}
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("browser: start %s: %w", exe, ctx.Err())
	case <-time.After(timeout):
		b.Close()
		return nil, fmt.Errorf("browser: start %s: no answer after %v%s", exe, timeout, b.outputTail())
	}
	if err := b.setDownloads(opt.DownloadDir); err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: downloads: %w", err)
	}
	return b, nil
}

// setDownloads sends the page's downloads to dir, or refuses them when dir
// is empty.
func (b *Browser) setDownloads(dir string) error {
	params := cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny}
	if dir != "" {
		params = cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}
	}
	return b.within("set download behavior", 10*time.Second, func(ctx context.Context) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, params)
		return err
	})
}

func (b *Browser) collectConsole(msgs iter.Seq2[Message, error]) {
	defer b.collectors.Done()
	for m, err := range msgs {
		if err != nil {
			return
		}
		b.mu.Lock()
		b.console = append(b.console, m)
		b.mu.Unlock()
		if b.logf != nil {
			b.logf("console %s", formatMessage(m))
		}
	}
}

func (b *Browser) collectRequests(evs iter.Seq2[network.EventRequestWillBeSent, error]) {
	defer b.collectors.Done()
	for ev, err := range evs {
		if err != nil {
			return
		}
		r := Request{Type: string(ev.Type)}
		if ev.Request != nil {
			r.Method, r.URL = ev.Request.Method, ev.Request.URL
		}
		b.mu.Lock()
		b.requests = append(b.requests, r)
		b.mu.Unlock()
	}
}

// Close closes the tab and the browser and removes its profile directory.
// It is safe to call more than once.
func (b *Browser) Close() {
	if b.cancelTab == nil {
		return
	}
	if b.graceful {
		// Browser.close lets Chromium finish its files (the netlog's last
		// events and closing brackets); the cancels below kill it if it
		// has not exited within the timeout.
		ctx, cancel := context.WithTimeout(b.tab, 15*time.Second)
		chromedp.Cancel(ctx)
		cancel()
	}
	b.cancelTab()
	b.cancelAlloc()
	b.collectors.Wait()
	b.cancelTab, b.cancelAlloc = nil, nil
}

// within runs f with a context that ends after timeout, and names the
// operation in the error when it does.
func (b *Browser) within(what string, timeout time.Duration, f func(ctx context.Context) error) error {
	if b.cancelTab == nil {
		return errors.New("browser: " + what + ": browser is closed")
	}
	ctx, cancel := context.WithTimeout(b.tab, timeout)
	defer cancel()
	err := f(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("browser: %s: timed out after %v", what, timeout)
	}
	if err != nil {
		return fmt.Errorf("browser: %s: %w", what, err)
	}
	return nil
}

// Navigate loads url and waits (up to timeout) for its load event.
func (b *Browser) Navigate(url string, timeout time.Duration) error {
	return b.within("navigate to "+url, timeout, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Navigate(url))
	})
}

// Do runs chromedp actions (click, type, upload files, ...) on the tab,
// all of them within timeout.
func (b *Browser) Do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	return b.within("actions", timeout, func(ctx context.Context) error {
		return chromedp.Do(ctx, steps...)
	})
}

// Eval evaluates a JavaScript expression, awaiting it when it is a promise,
// and decodes its JSON value into T (see chromedp.Evaluate).
func Eval[T any](b *Browser, expr string, timeout time.Duration) (T, error) {
	var v T
	err := b.within("eval "+short(expr), timeout, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
		return err
	})
	return v, err
}

// Wait polls a JavaScript expression every 50 ms until it is truthy and
// returns its value decoded into T. It fails after timeout, or at once when
// the page throws an uncaught exception while waiting.
func Wait[T any](b *Browser, expr string, timeout time.Duration) (T, error) {
	var v T
	exceptions := b.countExceptions()
	err := b.within("wait for "+short(expr), timeout, func(ctx context.Context) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // fail fast on a new uncaught exception
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if b.countExceptions() > exceptions {
						cancel(errors.New("uncaught exception in the page"))
						return
					}
				}
			}
		}()
		var err error
		v, err = chromedp.Run(ctx, chromedp.Poll[T](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) &&
			!errors.Is(cause, context.DeadlineExceeded) {
			return cause
		}
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			return context.DeadlineExceeded
		}
		return err
	})
	return v, err
}

// Screenshot captures the viewport as PNG.
func (b *Browser) Screenshot(timeout time.Duration) ([]byte, error) {
	var png []byte
	err := b.within("screenshot", timeout, func(ctx context.Context) error {
		var err error
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		return err
	})
	return png, err
}

// Console returns a copy of the console messages so far, in order.
func (b *Browser) Console() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.console...)
}

// Exceptions returns the uncaught exceptions and unhandled rejections so far.
func (b *Browser) Exceptions() []Message {
	var out []Message
	for _, m := range b.Console() {
		if m.IsException() {
			out = append(out, m)
		}
	}
	return out
}

func (b *Browser) countExceptions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.console {
		if m.IsException() {
			n++
		}
	}
	return n
}

// ConsoleText is the console as text, one message per line, for attaching
// to a test failure.
func (b *Browser) ConsoleText() string {
	var sb strings.Builder
	for _, m := range b.Console() {
		sb.WriteString(formatMessage(m))
		sb.WriteByte('\n')
	}
	if sb.Len() == 0 {
		return "(console empty)\n"
	}
	return sb.String()
}

// Requests returns a copy of the network requests so far, in order.
// Requests of dedicated workers run in their own targets and are not seen.
func (b *Browser) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.requests...)
}

// Output returns the captured stdout and stderr of the browser process
// (the first 64 KiB), which holds GPU process and crash diagnostics.
func (b *Browser) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.output.String()
}

func (b *Browser) outputTail() string {
	out := strings.TrimSpace(b.Output())
	if out == "" {
		return ""
	}
	if len(out) > 2000 {
		out = "..." + out[len(out)-2000:]
	}
	return "\nbrowser output:\n" + out
}

func formatMessage(m Message) string {
	s := m.String()
	if m.IsException() && m.Stack != nil {
		for _, f := range m.Stack.CallFrames {
			s += fmt.Sprintf("\n    at %s (%s:%d:%d)", f.FunctionName, f.URL, f.LineNumber+1, f.ColumnNumber+1)
		}
	}
	return s
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
