package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"catsynth/weights/ganmodels"
	"testing"
	"time"

	"catsynth/weights/glove"
)

func TestServe(t *testing.T) {
	dir := t.TempDir()
	if err := runServe(t.Context(), []string{"--dir", dir}); err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Fatalf("serving an empty dir: %v, want a hint to run make wasm", err)
	}
	for _, f := range []string{"index.html", "app.js", "engine.js", "transfer.js", "worker.js", "sw.js", "app.css", "catsynth.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x "+f), 0o644)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, []string{"--dir", dir, "--addr", addr}) }()
	var body []byte
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/models/index.json")
		if err != nil {
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		break
	}
	if !strings.Contains(string(body), glove.File) {
		t.Errorf("model index %q lacks the GloVe table", body)
	}
	resp, err := http.Get("http://" + addr + "/app.js")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "x app.js" {
			t.Errorf("app.js served as %q", b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve ended with %v", err)
	}
	assets, notes := defaultAssets()
	t.Logf("%d assets, notes %q", len(assets), notes)
}

// TestServeRefusesBadModels: serve --model with a file that is not a model
// the page can open (a text file, a truncated checkpoint, a training
// state) is refused at start, naming the file, instead of being listed.
func TestServeRefusesBadModels(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"index.html", "app.js", "engine.js", "transfer.js", "worker.js", "sw.js", "app.css", "catsynth.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x "+f), 0o644)
	}
	model, err := ganmodels.Bytes("tiny32")
	if err != nil {
		t.Fatal(err)
	}
	state, err := ganmodels.Source("tiny32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"notes.safetensors", []byte("just some text, not a checkpoint\n")},
		{"cut.safetensors.zst", model[:len(model)/2]},
		{"state.safetensors.zst", state},
	} {
		path := filepath.Join(t.TempDir(), c.name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		err := runServe(t.Context(), []string{"--dir", dir, "--addr", "127.0.0.1:0", "--model", path})
		if err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: %v, want an error naming the file", c.name, err)
		}
	}
}
