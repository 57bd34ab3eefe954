package dataset

import (
	"bytes"
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
