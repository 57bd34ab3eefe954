package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
)

// captureStdout runs f with os.Stdout redirected and returns what it printed.
func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := f()
	os.Stdout = old
	w.Close()
	out := <-done
	if ferr != nil {
		t.Fatalf("%v\noutput:\n%s", ferr, out)
	}
	return out
}

func TestDemoLossFalls(t *testing.T) {
	out := captureStdout(t, func() error {
		return runDemo(context.Background(), []string{"--backend", "cpu", "--steps", "150", "--seed", "2"})
	})
	if !strings.Contains(out, "x lower") {
		t.Fatalf("no summary line in:\n%s", out)
	}
	t.Log(out)
}

func TestDemoRejectsBadSteps(t *testing.T) {
	err := runDemo(context.Background(), []string{"--backend", "cpu", "--steps", "0"})
	if err == nil || !strings.Contains(err.Error(), "--steps") {
		t.Fatalf("got %v, want an error naming --steps", err)
	}
}

func TestBenchJSON(t *testing.T) {
	out := captureStdout(t, func() error {
		return runBench(context.Background(), []string{"--backend", "cpu", "--only", "add", "--time", "1ms", "--json"})
	})
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var r benchResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.Backend != "cpu" || r.Reps < 1 || r.Seconds <= 0 || r.GBPerSec <= 0 {
			t.Errorf("implausible result %+v", r)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d results, want 1 (only the add case):\n%s", n, out)
	}
}

func TestUnknownBackend(t *testing.T) {
	if err := runBench(context.Background(), []string{"--backend", "tpu"}); err == nil {
		t.Fatal("bench on an unknown backend succeeded")
	}
}
