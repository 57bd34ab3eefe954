package browser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const testPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>browser test</title></head>
<body><button id="b" onclick="window.clicked = true">b</button><script>
console.log("hello", 7);
console.error("an error line");
fetch("/data.txt").then(r => r.text()).then(t => {
  setTimeout(() => { window.done = {n: 42, text: t}; }, 100);
});
</script></body></html>`

// startPage serves a small page and opens it in a fresh browser.
func startPage(t *testing.T) (*Browser, *Server) {
	t.Helper()
	exe := Need(t)
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": testPage, "data.txt": "payload", "other.txt": "elsewhere"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := Serve(Files(dir, map[string]string{"/mapped.txt": filepath.Join(dir, "other.txt")}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{ExecPath: exe, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.Navigate(srv.URL+"/index.html", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return b, srv
}

func TestPage(t *testing.T) {
	b, srv := startPage(t)
	type done struct {
		N    int    `json:"n"`
		Text string `json:"text"`
	}
	got, err := Wait[done](b, "window.done", 10*time.Second)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, b.ConsoleText())
	}
	if got.N != 42 || got.Text != "payload" {
		t.Errorf("window.done = %+v, want {42 payload}", got)
	}

	console := b.ConsoleText()
	for _, want := range []string{"log: hello 7", "error: an error line"} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}

	var urls []string
	for _, r := range b.Requests() {
		urls = append(urls, r.URL)
	}
	for _, want := range []string{srv.URL + "/index.html", srv.URL + "/data.txt"} {
		if !slices.Contains(urls, want) {
			t.Errorf("requests %q lack %q", urls, want)
		}
	}
	if served := srv.Served(); !slices.Contains(served, "/data.txt") {
		t.Errorf("server served %q, want /data.txt among them", served)
	}

	mapped, err := Eval[string](b, `fetch("/mapped.txt").then(r => r.text())`, 5*time.Second)
	if err != nil || mapped != "elsewhere" {
		t.Errorf("mapped file: got %q, %v; want \"elsewhere\"", mapped, err)
	}

	if err := b.Do(5*time.Second, chromedp.Click(chromedp.ID("b"))); err != nil {
		t.Fatal(err)
	}
	if clicked, err := Eval[bool](b, "window.clicked === true", time.Second); err != nil || !clicked {
		t.Errorf("click did not reach the page: %v, %v", clicked, err)
	}

	png, err := b.Screenshot(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 100 {
		t.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
}

func TestWaitFails(t *testing.T) {
	b, _ := startPage(t)
	tests := []struct {
		name    string
		setup   string // evaluated before the wait
		timeout time.Duration
		want    string // in the error
		within  time.Duration
	}{
		{"timeout", "", 300 * time.Millisecond, "timed out", 5 * time.Second},
		{"exception", `setTimeout(() => { throw new Error("boom") }, 50)`, 30 * time.Second, "uncaught exception", 5 * time.Second},
		{"rejection", `Promise.reject(new Error("rejected")) && 1`, 30 * time.Second, "uncaught exception", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != "" {
				if _, err := Eval[any](b, tt.setup, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			_, err := Wait[bool](b, "window.never", tt.timeout)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Wait error = %v, want one containing %q", err, tt.want)
			}
			if d := time.Since(start); d > tt.within {
				t.Errorf("Wait took %v, want under %v", d, tt.within)
			}
		})
	}
	if ex := b.Exceptions(); len(ex) < 2 || !strings.Contains(ex[0].Text, "boom") {
		t.Errorf("exceptions = %v, want boom and rejected", ex)
	}
}

// TestWebGPUAdapter checks that the flags give the page a WebGPU adapter
// (SwiftShader on machines without a GPU).
func TestWebGPUAdapter(t *testing.T) {
	b, _ := startPage(t)
	name, err := Eval[string](b, `(async () => {
		if (!navigator.gpu) return "no navigator.gpu";
		const a = await navigator.gpu.requestAdapter();
		if (!a) return "no adapter";
		const i = a.info || {};
		return "adapter: " + [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ");
	})()`, 20*time.Second)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, b.ConsoleText())
	}
	if !strings.HasPrefix(name, "adapter: ") {
		if Required() {
			t.Fatalf("WebGPU in headless Chromium: %s\nbrowser output:\n%s", name, b.Output())
		}
		t.Skipf("WebGPU in headless Chromium: %s", name)
	}
	t.Log(name)
}

func TestClosedBrowser(t *testing.T) {
	b, _ := startPage(t)
	b.Close()
	b.Close() // idempotent
	if err := b.Navigate("about:blank", time.Second); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Navigate after Close: %v, want a 'closed' error", err)
	}
}
