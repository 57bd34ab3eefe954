//go:build !js

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"catsynth/internal/browser"
	"catsynth/wasm/parity"
)

// EnvParitySeed reproduces a browser parity run: the seed a failing run logged.
const EnvParitySeed = "CATSYNTH_PARITY_SEED"

// TestBrowserParity builds this package for GOOS=js, serves it with
// public/dev/parity.html from 127.0.0.1, and runs catsynth.runParity in
// headless Chromium: first the CPU backend against itself (proves the wasm
// plumbing), then the WebGPU backend (SwiftShader here) against the CPU
// backend. Every case must pass; the console is attached to failures.
func TestBrowserParity(t *testing.T) {
	exe := browser.Need(t)
	wasmFile := buildWasm(t, ".")
	panicFile := buildWasm(t, "./testdata/panic")
	gorootOut, err := exec.Command(goTool(), "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	wasmExec := filepath.Join(strings.TrimSpace(string(gorootOut)), "lib", "wasm", "wasm_exec.js")
	srv, err := browser.Serve(browser.Files("../public", map[string]string{
		"/wasm_exec.js":  wasmExec,
		"/catsynth.wasm": wasmFile,
		"/panic.wasm":    panicFile,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	start := time.Now()
	b, err := browser.Start(t.Context(), browser.Options{ExecPath: exe})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))

	seed := uint64(time.Now().UnixNano()) & (1<<53 - 1)
	if s := os.Getenv(EnvParitySeed); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 53); err != nil {
			t.Fatalf("%s=%q: %v", EnvParitySeed, s, err)
		}
	}
	t.Logf("seed %d (rerun with %s=%d)", seed, EnvParitySeed, seed)

	for _, tc := range []struct {
		backend string
		timeout time.Duration
	}{
		{"cpu", time.Minute},
		{"gpu", 4 * time.Minute}, // SwiftShader compiles and runs kernels on the CPU
	} {
		t.Run(tc.backend, func(t *testing.T) {
			run := runPage(t, b, fmt.Sprintf("%s/dev/parity.html?backend=%s&seed=%d", srv.URL, tc.backend, seed), tc.timeout)
			if run.rep.NoDevice && !browser.Required() {
				t.Skipf("no WebGPU adapter in the browser: %s", run.rep.Error)
			}
			checkReport(t, b, run)
		})
	}

	t.Run("options", func(t *testing.T) {
		_, err := browser.Eval[string](b, `catsynth.runParity({backend: "tpu"})`, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), `unknown backend "tpu"`) {
			t.Errorf("runParity with a bad backend: %v, want a rejection naming it", err)
		}
		raw, err := browser.Eval[string](b, `catsynth.runParity({backend: "cpu", filter: "softmax", seed: 7})`, 30*time.Second)
		var rep parity.Report
		if err == nil {
			err = json.Unmarshal([]byte(raw), &rep)
		}
		if err != nil || rep.Seed != 7 || len(rep.Cases) != 1 || !strings.HasPrefix(rep.Cases[0].Name, "softmax") {
			t.Errorf("runParity with a filter and a seed: %v, %+v; want seed 7 and the softmax case alone", err, rep)
		}
	})

	// A Go panic ends the wasm program; the page must report that at once.
	t.Run("panic", func(t *testing.T) {
		start := time.Now()
		run := runPage(t, b, srv.URL+"/dev/parity.html?wasm=../panic.wasm", 30*time.Second)
		if run.rep.Pass || !strings.Contains(run.rep.Error, "exited") {
			t.Errorf("report for a panicking program: %+v, want a failure saying it exited", run.rep)
		}
		if c := run.consoleText(); !strings.Contains(c, "panic: boom from wasm") {
			t.Errorf("console lacks the Go panic:\n%s", c)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v to report the panic", d)
		}
	})

	// Everything the page loaded came from the test server: nothing leaves
	// the machine (the product promises that images stay in the browser).
	for _, r := range b.Requests() {
		if !strings.HasPrefix(r.URL, srv.URL+"/") {
			t.Errorf("request to %s (%s %s) is not to the local server %s", r.URL, r.Method, r.Type, srv.URL)
		}
	}
}

// pageRun is one load of the parity page: its report and the console
// messages written while it ran.
type pageRun struct {
	rep     parity.Report
	console []browser.Message
}

func (r pageRun) consoleText() string {
	var sb strings.Builder
	for _, m := range r.console {
		sb.WriteString(m.String())
		sb.WriteByte('\n')
	}
	if sb.Len() == 0 {
		return "(console empty)\n"
	}
	return sb.String()
}

// runPage opens url and waits for window.parityResult.
func runPage(t *testing.T, b *browser.Browser, url string, timeout time.Duration) pageRun {
	t.Helper()
	if d, ok := t.Deadline(); ok && time.Until(d)-10*time.Second < timeout {
		timeout = max(time.Until(d)-10*time.Second, time.Second)
	}
	start := time.Now()
	seen := len(b.Console())
	if err := b.Navigate(url, 30*time.Second); err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, b.ConsoleText())
	}
	raw, err := browser.Wait[[]byte](b, "window.parityResult", timeout)
	run := pageRun{console: b.Console()[seen:]}
	if err != nil {
		saveScreenshot(t, b)
		t.Fatalf("%v\nconsole:\n%s", err, run.consoleText())
	}
	t.Logf("%s: page to result in %v", url, time.Since(start).Round(time.Millisecond))
	if err := json.Unmarshal(raw, &run.rep); err != nil {
		t.Fatalf("decode parity report: %v\n%s", err, raw)
	}
	return run
}

// webgpuErrors are the texts by which the browser reports WebGPU validation
// and shader compilation errors: on js the binding returns no errors, they
// only reach the console.
var webgpuErrors = []string{"Error while parsing WGSL", "While calling [", "is invalid due to"}

// checkReport logs the per-case table and fails on any failing case and on
// any WebGPU error in the console.
func checkReport(t *testing.T, b *browser.Browser, run pageRun) {
	t.Helper()
	rep := run.rep
	if rep.Error != "" {
		saveScreenshot(t, b)
		t.Fatalf("parity run failed: %s\nconsole:\n%s", rep.Error, run.consoleText())
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s vs %s, seed %d, %d cases in %.2f s\n", rep.Backend, rep.Reference, rep.Seed, len(rep.Cases), rep.TotalMs/1000)
	if rep.Adapter != "" {
		fmt.Fprintf(&sb, "adapter: %s\n", rep.Adapter)
	}
	fmt.Fprintf(&sb, "%-64s %10s %8s %9s %9s %9s %8s\n", "case", "max err", "err/tol", "ms cold", "ms warm", "ms cpu", "GFLOP/s")
	for _, c := range rep.Cases {
		status := ""
		if !c.Pass {
			status = "  FAIL " + c.Error
		}
		fmt.Fprintf(&sb, "%-64s %10.2e %8.3f %9.1f %9.1f %9.1f %8.2f%s\n",
			c.Name, c.MaxAbsErr, c.Worst, c.Ms, c.WarmMs, c.RefMs, c.GFlops, status)
	}
	t.Log("\n" + sb.String())
	if len(rep.Cases) != len(parity.Cases()) {
		t.Errorf("%d case results, want %d", len(rep.Cases), len(parity.Cases()))
	}
	failed := 0
	for _, c := range rep.Cases {
		switch {
		case c.Pass:
			continue
		case c.Error != "":
			t.Errorf("%s: %s", c.Name, c.Error)
		default:
			t.Errorf("%s: max abs err %.3g, worst err/tol %.3g at [%d]: got %g want %g (tol %+v)",
				c.Name, c.MaxAbsErr, c.Worst, c.WorstIndex, c.Got, c.Want, c.Tol)
		}
		if failed++; c.Stack != "" && failed == 1 { // later panics usually repeat the first
			t.Logf("stack of the panic in %s:\n%s", c.Name, c.Stack)
		}
	}
	var gpuErrs []string
	for _, m := range run.console {
		for _, e := range webgpuErrors {
			if strings.Contains(m.Text, e) {
				gpuErrs = append(gpuErrs, m.String())
				break
			}
		}
	}
	if len(gpuErrs) > 0 {
		t.Errorf("%d WebGPU errors in the console, the first:\n%s", len(gpuErrs), gpuErrs[0])
	}
	if failed > 0 || !rep.Pass || len(gpuErrs) > 0 {
		t.Errorf("%d of %d cases failed (report pass=%v)\nconsole:\n%s", failed, len(rep.Cases), rep.Pass, run.consoleText())
	}
}

// saveScreenshot keeps a screenshot of the page in the test's artifact
// directory (kept with go test -artifacts).
func saveScreenshot(t *testing.T, b *browser.Browser) {
	png, err := b.Screenshot(10 * time.Second)
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	p := filepath.Join(t.ArtifactDir(), "page.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", p)
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// buildWasm builds the package in dir with GOOS=js GOARCH=wasm into a temp
// dir and logs its size raw and gzip-compressed. The go build cache makes a
// rebuild of unchanged code a relink only.
func buildWasm(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+".wasm")
	cmd := exec.Command(goTool(), "build", "-o", out, dir)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build %s: %v\n%s", dir, err, msg)
	}
	built := time.Since(start)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	t.Logf("%s: wasm built in %v: %.2f MB raw, %.2f MB gzip -9", dir, built.Round(time.Millisecond),
		float64(len(data))/1e6, float64(gz.Len())/1e6)
	return out
}
