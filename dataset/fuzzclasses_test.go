package dataset

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseClasses: any classes.txt bytes give classes or an error naming the
// file, never a panic; accepted classes written back with WriteClasses parse
// to the same names and colours.
//
//	go test -run '^$' -fuzz FuzzParseClasses ./dataset
func FuzzParseClasses(f *testing.F) {
	for _, s := range []string{
		"sky\nsea\n", "sky #87ceeb\ntraffic sign 220 220 0\n", "# comment\n\nwater\r\nroad\r\n",
		"\ufeffsky\nsea\n", "straße\n海\n", "a\na\n", "a #zzzzzz\n", "", "a #000000\nb #000000\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		classes, colored, err := ParseClasses(bytes.NewReader(data), "classes.txt")
		if err != nil {
			if fe, ok := err.(*FileError); !ok || fe.Path != "classes.txt" {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(classes) == 0 {
			t.Fatal("no classes and no error")
		}
		var buf bytes.Buffer
		if err := WriteClasses(&buf, classes); err != nil {
			t.Fatalf("accepted classes cannot be written back: %v", err)
		}
		again, colored2, err := ParseClasses(&buf, "again.txt")
		if err != nil {
			// Default colours can collide with a given one only when some
			// classes had none, which ParseClasses refuses; so this is a bug.
			t.Fatalf("written classes do not parse: %v\n%s", err, buf.Bytes())
		}
		if !colored2 || len(again) != len(classes) {
			t.Fatalf("round trip: %d classes (colours %v), want %d (colours %v)", len(again), colored2, len(classes), colored)
		}
		for i := range classes {
			if again[i] != classes[i] {
				t.Fatalf("round trip class %d: %+v, want %+v", i, again[i], classes[i])
			}
		}
	})
}

// TestParseClassesCatalogue: the classes.txt rows of the bad-input
// catalogue (docs/RELIABILITY.md): what is refused names the file and the
// line; CRLF, a leading byte-order mark and UTF-8 names are read as meant.
func TestParseClassesCatalogue(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // class names, or nil for an error
		msg      string
	}{
		{"empty", "", nil, "no classes"},
		{"only comments", "# x\n\n", nil, "no classes"},
		{"a name twice", "sky\nsea\nsky\n", nil, `line 3: class "sky" already named on line 1`},
		{"CRLF line ends", "sky\r\nsea\r\n", []string{"sky", "sea"}, ""},
		{"UTF-8 byte-order mark", "\ufeffsky\nsea\n", []string{"sky", "sea"}, ""},
		{"byte-order mark inside", "sky\n\ufeffsea\n", nil, "line 2: starts with a byte-order mark"},
		{"UTF-8 names", "straße\n海\n", []string{"straße", "海"}, ""},
		{"colours for some classes only", "sky #000001\nsea\n", nil, "1 of 2 classes have a colour"},
		{"two classes one colour", "sky #000001\nsea #000001\n", nil, "share colour #000001"},
		{"bad colour", "sky #zz0000\n", nil, "line 1"},
	} {
		cs, _, err := ParseClasses(strings.NewReader(tc.in), "c/classes.txt")
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), "c/classes.txt") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: error %v, want one naming c/classes.txt and %q", tc.name, err, tc.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(cs) != len(tc.want) {
			t.Errorf("%s: %d classes, want %q", tc.name, len(cs), tc.want)
			continue
		}
		for i, c := range cs {
			if c.Name != tc.want[i] {
				t.Errorf("%s: class %d %q, want %q", tc.name, i, c.Name, tc.want[i])
			}
		}
	}
}
