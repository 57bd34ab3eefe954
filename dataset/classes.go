package dataset

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// ParseClasses reads a classes file: one class per line in index order,
// "NAME" or "NAME #RRGGBB" or "NAME R G B". Blank lines and lines starting with
// '#' are comments. Names may contain spaces when a colour follows them
// ("traffic sign #dcdc00"). Classes without a colour get DefaultColor(i).
// hasColors reports whether every class named a colour (needed to decode RGB
// label files).
func ParseClasses(r io.Reader, path string) (classes []Class, hasColors bool, err error) {
	sc := bufio.NewScanner(r)
	line := 0
	colored := 0
	lineOf := map[string]int{}
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if line == 1 {
			// Windows editors start UTF-8 files with a byte-order mark,
			// which would otherwise become part of the first name.
			s = strings.TrimLeftFunc(s, func(r rune) bool { return r == '\ufeff' || unicode.IsSpace(r) })
		} else if strings.HasPrefix(s, "\ufeff") {
			return nil, false, fileErr(path, "line %d: starts with a byte-order mark (U+FEFF): remove it", line)
		}
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, col, ok, err := splitColor(s)
		if err != nil {
			return nil, false, fileErr(path, "line %d: %v", line, err)
		}
		if name == "" {
			return nil, false, fileErr(path, "line %d: empty class name", line)
		}
		if first, dup := lineOf[name]; dup {
			return nil, false, fileErr(path, "line %d: class %q already named on line %d", line, name, first)
		}
		lineOf[name] = line
		if !ok {
			col = DefaultColor(len(classes))
		} else {
			colored++
		}
		classes = append(classes, Class{Name: name, Color: col})
	}
	if err := sc.Err(); err != nil {
		return nil, false, fileErr(path, "%v", err)
	}
	if len(classes) == 0 {
		return nil, false, fileErr(path, "no classes")
	}
	if colored != 0 && colored != len(classes) {
		return nil, false, fileErr(path, "%d of %d classes have a colour: give all or none", colored, len(classes))
	}
	if colored > 0 {
		seen := map[color.RGBA]string{}
		for _, c := range classes {
			if o, dup := seen[c.Color]; dup {
				return nil, false, fileErr(path, "classes %q and %q share colour %s", o, c.Name, hexColor(c.Color))
			}
			seen[c.Color] = c.Name
		}
	}
	return classes, colored > 0, nil
}

// splitColor splits "name #rrggbb" or "name r g b" into name and colour.
func splitColor(s string) (string, color.RGBA, bool, error) {
	f := strings.Fields(s)
	if n := len(f); n >= 2 && strings.HasPrefix(f[n-1], "#") {
		c, err := parseHex(f[n-1])
		if err != nil {
			return "", c, false, err
		}
		return strings.Join(f[:n-1], " "), c, true, nil
	}
	if n := len(f); n >= 4 {
		var v [3]uint8
		ok := true
		for i := 0; i < 3; i++ {
			x, err := strconv.Atoi(f[n-3+i])
			if err != nil {
				ok = false
				break
			}
			if x < 0 || x > 255 {
				return "", color.RGBA{}, false, fmt.Errorf("colour component %d out of 0..255", x)
			}
			v[i] = uint8(x)
		}
		if ok {
			return strings.Join(f[:n-3], " "), color.RGBA{v[0], v[1], v[2], 255}, true, nil
		}
	}
	return strings.Join(f, " "), color.RGBA{}, false, nil
}

func parseHex(s string) (color.RGBA, error) {
	h := strings.TrimPrefix(s, "#")
	if len(h) != 6 {
		return color.RGBA{}, fmt.Errorf("colour %q is not #RRGGBB", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.RGBA{}, fmt.Errorf("colour %q is not #RRGGBB", s)
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}, nil
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// WriteClasses writes classes in the format ParseClasses reads, with colours.
func WriteClasses(w io.Writer, classes []Class) error {
	bw := bufio.NewWriter(w)
	for _, c := range classes {
		if strings.ContainsAny(c.Name, "\r\n") || strings.HasPrefix(c.Name, "#") || strings.HasPrefix(c.Name, "\ufeff") ||
			strings.TrimSpace(c.Name) != c.Name || c.Name == "" {
			return fmt.Errorf("dataset: class name %q cannot be written to a classes file", c.Name)
		}
		fmt.Fprintf(bw, "%s %s\n", c.Name, hexColor(c.Color))
	}
	return bw.Flush()
}

// WriteClassesFile writes classes to path (see WriteClasses).
func WriteClassesFile(path string, classes []Class) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteClasses(f, classes); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DefaultColor is a distinct, deterministic colour for class i (the bit-
// interleaved palette of Pascal VOC, which is what most tools show).
func DefaultColor(i int) color.RGBA {
	var r, g, b uint8
	c := i + 1 // keep black for Ignore
	for j := 0; j < 8 && c > 0; j++ {
		r |= uint8(c&1) << (7 - j)
		g |= uint8((c>>1)&1) << (7 - j)
		b |= uint8((c>>2)&1) << (7 - j)
		c >>= 3
	}
	return color.RGBA{r, g, b, 255}
}

// withColors builds a class list from names with default colours.
func withColors(names []string) []Class {
	cs := make([]Class, len(names))
	for i, n := range names {
		cs[i] = Class{Name: n, Color: DefaultColor(i)}
	}
	return cs
}
