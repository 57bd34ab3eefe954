package app

import (
	"strings"
	"testing"

	"catsynth/dataset"
	"catsynth/internal/testscenes"
)

// TestSetTargetDataset opens tiny fakes of the public datasets' layouts by
// their bare paths, as `catsynth transfer --target` does, and checks the
// classes and the label values of the pairs.
func TestSetTargetDataset(t *testing.T) {
	s, _ := newSession(t, 0)
	for _, layout := range testscenes.DatasetLayouts {
		t.Run(layout, func(t *testing.T) {
			root := testscenes.WriteLayout(t, t.TempDir(), layout, 64)
			ds, err := dataset.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.SetTargetDataset(ds)
			if err != nil {
				t.Fatal(err)
			}
			want := testscenes.DatasetClasses[layout]
			if info.Added != 2 || len(info.Classes) != want[0] || !info.Named || len(info.Messages) != 0 {
				t.Fatalf("%d pairs, %d classes (want 2, %d), named %v, messages %v", info.Added, len(info.Classes), want[0], info.Named, info.Messages)
			}
			for _, p := range s.target.Pairs {
				top, bottom := p.Labels[0], p.Labels[len(p.Labels)-1]
				if int(top) != want[1] || int(bottom) != want[2] {
					t.Errorf("pair %s: classes %d above %d, want %d above %d", p.Name, top, bottom, want[1], want[2])
				}
			}
		})
	}
	ds, err := dataset.Open(testscenes.WriteLayout(t, t.TempDir(), "ade20k", 4))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.SetTargetDataset(ds); err != nil || info.Added != 0 || len(info.Messages) != 2 || !strings.Contains(info.Messages[0].Error, "too small") {
		t.Errorf("4 px images: %+v, %v", info, err)
	}
}
