package dataset

import "testing"

func TestRelationGrid(t *testing.T) {
	g, err := RelationGrid("street", 1, 3, 24)
	if err != nil {
		t.Fatal(err)
	}
	// one row per class: 15 classes
	if h := g.Bounds().Dy(); h < 15*24 {
		t.Errorf("grid height %d for 15 rows of 24", h)
	}
	if _, err := RelationGrid("atlantis", 1, 3, 24); err == nil {
		t.Error("unknown domain accepted")
	}
	if _, err := RelationGrid("coast", 1, 0, 24); err == nil {
		t.Error("tries 0 accepted")
	}
}
