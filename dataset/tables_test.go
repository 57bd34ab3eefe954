package dataset

import "testing"

// TestTableCounts checks the built-in vocabularies against the published
// class counts and for duplicate names.
func TestTableCounts(t *testing.T) {
	cs := cityscapesClasses(false)
	tr := cityscapesClasses(true)
	for _, tc := range []struct {
		name  string
		names []string
		want  int
	}{
		{"ade20k", ade20kNames, 150},
		{"cocostuff", cocoStuffNames, 182},
		{"cityscapes ids", ClassNames(cs), 34},
		{"cityscapes train ids", ClassNames(tr), 19},
	} {
		if len(tc.names) != tc.want {
			t.Errorf("%s: %d classes, want %d", tc.name, len(tc.names), tc.want)
		}
		seen := map[string]bool{}
		for _, n := range tc.names {
			if seen[n] {
				t.Errorf("%s: duplicate class %q", tc.name, n)
			}
			seen[n] = true
		}
	}
	for i, l := range cityscapesLabels {
		if l.id != i {
			t.Errorf("cityscapes row %d has id %d", i, l.id)
		}
	}
	// spot checks of well-known positions
	for _, tc := range []struct {
		got, want string
	}{
		{ade20kNames[0], "wall"}, {ade20kNames[149], "flag"}, {ade20kNames[20], "car"},
		{cocoStuffNames[0], "person"}, {cocoStuffNames[90], "hair brush"}, {cocoStuffNames[91], "banner"},
		{cocoStuffNames[156], "sky-other"}, {cocoStuffNames[181], "wood"},
		{tr[0].Name, "road"}, {tr[18].Name, "bicycle"}, {tr[10].Name, "sky"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
