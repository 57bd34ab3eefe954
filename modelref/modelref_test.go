package modelref

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/dataset/synth"
	"catsynth/internal/testsources"
	_ "catsynth/models/all"
	"catsynth/transfer"
)

// TestReferences resolves the reference forms and opens them as sources;
// a file without its training state is ErrNoSource, naming the state.
func TestReferences(t *testing.T) {
	dir := t.TempDir()
	withState := testsources.GAN(t, dir, synth.SourceClasses, 32, 2)
	bare := filepath.Join(t.TempDir(), "bare.safetensors.zst")
	data, err := os.ReadFile(withState)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bare, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, name, err := Bytes(""); err != nil || !strings.HasPrefix(name, EmbeddedPrefix) {
		t.Errorf("the default: %q, %v", name, err)
	}
	for _, c := range []struct {
		ref, wantErr string
		noSource     bool
	}{
		{"embedded:tiny32", "", false},
		{withState, "", false},
		{transfer.StatePath(withState), "", false},
		{bare, transfer.StatePath(bare), true},
		{"embedded:nope", "no embedded model", false},
		{filepath.Join(dir, "missing.safetensors.zst"), "missing.safetensors.zst", false},
	} {
		src, err := Source(c.ref)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.ref, err)
		case c.wantErr == "" && len(src.Classes()) == 0:
			t.Errorf("%s: a source without classes", c.ref)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want %q", c.ref, err, c.wantErr)
		case c.wantErr != "" && errors.Is(err, ErrNoSource) != c.noSource:
			t.Errorf("%s: errors.Is(ErrNoSource) = %v, want %v (%v)", c.ref, !c.noSource, c.noSource, err)
		}
	}
}
