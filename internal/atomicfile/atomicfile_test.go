package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deadPid returns the pid of a process that has exited (and been reaped).
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot start a process: %v", err)
	}
	return cmd.Process.Pid
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "m.safetensors")
	dead := deadPid(t)
	files := []struct {
		name  string
		old   bool
		stale bool
	}{
		{".m.safetensors.tmp-" + strconv.Itoa(dead) + "-123", false, true},          // dead writer
		{".m.safetensors.tmp-" + strconv.Itoa(os.Getpid()) + "-456", false, false},  // this process
		{".m.safetensors.tmp-" + strconv.Itoa(os.Getppid()) + "-789", false, false}, // a live process
		{".m.safetensors.tmp-" + strconv.Itoa(os.Getppid()) + "-790", true, true},   // live pid, but too old
		{".m.safetensors.tmp-123456789", false, false},                              // old naming, young
		{".m.safetensors.tmp-987654321", true, true},                                // old naming, old
		{".other.safetensors.tmp-" + strconv.Itoa(dead) + "-1", false, true},        // another target, dead writer
		{".other.safetensors.tmp-987654321", true, false},                           // another target, old naming
		{".vim.tmp-" + strconv.Itoa(dead) + "-x", false, false},                     // not this naming
		{"m.safetensors", true, false},                                              // the target itself
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if f.old {
			old := time.Now().Add(-2 * StaleAge)
			os.Chtimes(p, old, old)
		}
	}
	got := RemoveStale(target)
	sort.Strings(got)
	var want []string
	for _, f := range files {
		if f.stale {
			want = append(want, f.name)
		}
	}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("removed %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("removed %q, want %q", got, want)
		}
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if exists := err == nil; exists == f.stale {
			t.Errorf("%s: exists=%v after cleanup, stale=%v", f.name, exists, f.stale)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	stalePath := filepath.Join(dir, TempPrefix(path)+strconv.Itoa(deadPid(t))+"-1")
	os.WriteFile(stalePath, []byte("half"), 0o644)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("file %q mode %v, want \"new\" 0600 (kept from the old file)", b, st.Mode().Perm())
	}
	if _, err := os.Stat(stalePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp of a dead writer survived a write: %v", err)
	}
	// A failing write keeps the old file and leaves no temp.
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w io.Writer) error { io.WriteString(w, "partial"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	b, _ = os.ReadFile(path)
	if string(b) != "new" {
		t.Fatalf("failed write changed the file to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want 1", len(entries))
	}
	// Into a missing directory: an error naming the file.
	missing := filepath.Join(dir, "no", "x.json")
	if err := Write(missing, 0o644, func(io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("write into a missing directory: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
