package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/transfer"
)

// TestKillSafety starts `train gan` and then `transfer` on tiny settings,
// writing a checkpoint every step, and SIGKILLs them at random moments
// (seeded; CATSYNTH_KILL_SEED repeats a run). After every kill each file on
// disk must load, the next start must resume from the state left behind,
// and temp files of killed writers must not pile up: after a final run to
// completion none is left. CATSYNTH_KILLS sets the number of kills (12 by
// default: half train, half transfer; `make kill-test` runs 60).
func TestKillSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary many times")
	}
	kills := 12
	if s := os.Getenv("CATSYNTH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			t.Fatalf("CATSYNTH_KILLS=%q: want an integer >= 2", s)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CATSYNTH_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CATSYNTH_KILL_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (CATSYNTH_KILL_SEED=%d repeats it), %d kills", seed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, 17))
	dir := t.TempDir()

	model := filepath.Join(dir, "m.safetensors.zst")
	train := func(steps int, flag string) []string {
		a := []string{"train", "gan", "--data", "synth:source:n=8,size=32", "--preset", "tiny", "--size", "32",
			"--batch", "1", "--steps", strconv.Itoa(steps), "--ckpt-every", "1", "--sample-every", "3", "--out", model}
		if flag != "" {
			a = append(a, flag)
		}
		return a
	}
	st := killLoop(t, rng, dir, model, kills/2, train)

	target := filepath.Join(dir, "t", "coast.safetensors.zst")
	os.MkdirAll(filepath.Dir(target), 0o755)
	tr := func(steps int, flag string) []string {
		a := []string{"transfer", "--source", model, "--target", "synth:coast:n=4,size=32", "--affinity", "text",
			"--batch", "1", "--steps", strconv.Itoa(steps), "--ckpt-every", "1", "--sample-every", "3", "--out", target}
		if flag != "" {
			a = append(a, flag)
		}
		return a
	}
	st2 := killLoop(t, rng, dir, target, kills-kills/2, tr)
	t.Logf("train gan: %s; transfer: %s", st, st2)
}

// killStats summarises one kill loop for the log (and docs/RELIABILITY.md).
type killStats struct {
	kills, midWrite, maxTemps, resumed int
}

func (s killStats) String() string {
	return strconv.Itoa(s.kills) + " kills, " + strconv.Itoa(s.midWrite) + " left a temp file (killed mid-write), at most " +
		strconv.Itoa(s.maxTemps) + " temp files at once, " + strconv.Itoa(s.resumed) + " restarts resumed"
}

var tempName = regexp.MustCompile(`^\..+\.tmp-(\d+)-\d+$`)

// killLoop runs args (built by cmd for a step count and the flag that
// continues or replaces out), kills it n times, checks the directory after
// each kill, and finishes with a run to completion from the last state.
func killLoop(t *testing.T, rng *rand.Rand, dir, out string, n int, cmd func(steps int, flag string) []string) killStats {
	t.Helper()
	var s killStats
	state := transfer.StatePath(out)
	flag := func() string {
		if _, err := os.Stat(state); err == nil {
			s.resumed++
			return "--resume"
		}
		if _, err := os.Stat(out); err == nil {
			return "--force"
		}
		return ""
	}
	for i := 0; i < n; i++ {
		delay := time.Duration(300+rng.IntN(2200)) * time.Millisecond
		args := cmd(100000, flag())
		c := exec.Command(cliBinary, args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "CATSYNTH_BACKEND=cpu")
		var se bytes.Buffer
		c.Stderr = &se
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.Process.Signal(syscall.SIGKILL)
		err := c.Wait()
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("%s exited before the kill after %v: %v\n%s", args[0], delay, err, se.String())
		}
		s.kills++
		temps := checkDir(t, dir)
		for _, tmp := range temps {
			if m := tempName.FindStringSubmatch(filepath.Base(tmp)); m != nil && m[1] == strconv.Itoa(c.Process.Pid) {
				s.midWrite++
				break
			}
		}
		s.maxTemps = max(s.maxTemps, len(temps))
		t.Logf("%s killed after %v (pid %d): %d temp files", args[0], delay, c.Process.Pid, len(temps))
	}
	// Run to completion: two steps beyond the state left behind.
	done := 0
	if ck, err := nn.ReadCheckpoint(state); err == nil {
		done, _ = strconv.Atoi(ck.Metadata[models.MetaStep])
	}
	f := flag()
	_, se, code := runCLI(t, dir, cmd(done+2, f)...)
	if code != 0 {
		t.Fatalf("final run (%s from step %d): exit %d\n%s", f, done, code, se)
	}
	if f == "--resume" && !strings.Contains(se, "resuming at step "+strconv.Itoa(done)) {
		t.Errorf("final run did not resume at step %d:\n%s", done, se)
	}
	if temps := checkDir(t, dir); len(temps) != 0 {
		t.Errorf("temp files left after a run to completion: %q", temps)
	}
	return s
}

// checkDir loads every file under dir as what its name says it is and
// returns the temp files (named by atomicfile: .NAME.tmp-PID-RANDOM).
func checkDir(t *testing.T, dir string) (temps []string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		switch {
		case strings.Contains(name, ".tmp-"):
			if !tempName.MatchString(name) {
				t.Errorf("temp file %s does not carry its writer's pid", p)
			}
			temps = append(temps, p)
		case strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".safetensors.zst"):
			if _, err := nn.ReadCheckpoint(p); err != nil {
				t.Errorf("after a kill: %v", err)
			}
		case strings.HasSuffix(name, ".affinity.json"):
			if _, _, err := affinity.ReadJSONFile(p); err != nil {
				t.Errorf("after a kill: %v", err)
			}
		case strings.HasSuffix(name, ".json"):
			b, _ := os.ReadFile(p)
			if !json.Valid(b) {
				t.Errorf("after a kill: %s is not valid JSON", p)
			}
		case strings.HasSuffix(name, ".png"):
			if _, err := dataset.DecodeImageFile(p); err != nil {
				t.Errorf("after a kill: %v", err)
			}
		}
		return nil
	})
	return temps
}
