// Package keras imports Keras layers models as tfjs ships them (a
// model.json "modelTopology" plus a weights manifest with binary shards) and
// converts them into catsynth backbone networks (package backbone).
//
// The npm package nsfwjs bundles its models as browserify .min.js files: the
// model JSON is a minified JavaScript object literal and each weight shard a
// base64 string literal. This file turns such literals back into JSON.
package keras

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxDepth bounds the nesting of literals (a guard against hostile input).
const maxDepth = 256

// jsLiteral converts the JavaScript literal at the start of src (after
// optional whitespace) into JSON text and returns it with the number of bytes
// of src it consumed. It accepts what minifiers emit for plain data: objects
// with identifier, string or number keys, arrays, double- or single-quoted
// strings, numbers such as .5 or -1e-3, !0 and !1 (true, false), true, false,
// null, and "void 0" (undefined, written as null).
func jsLiteral(src []byte) (out []byte, n int, err error) {
	p := &litParser{src: src}
	var buf bytes.Buffer
	p.out = &buf
	if err := p.value(0); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), p.pos, nil
}

type litParser struct {
	src []byte
	pos int
	out *bytes.Buffer
}

func (p *litParser) errorf(format string, args ...any) error {
	return fmt.Errorf("keras: js literal at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *litParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *litParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func (p *litParser) hasPrefix(s string) bool {
	return bytes.HasPrefix(p.src[p.pos:], []byte(s))
}

func (p *litParser) value(depth int) error {
	if depth > maxDepth {
		return p.errorf("nested deeper than %d", maxDepth)
	}
	c := p.peek()
	switch {
	case c == 0:
		return p.errorf("unexpected end of input")
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return err
		}
		p.writeString(s)
		return nil
	case c == '!' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '0' || p.src[p.pos+1] == '1'):
		if p.src[p.pos+1] == '0' {
			p.out.WriteString("true")
		} else {
			p.out.WriteString("false")
		}
		p.pos += 2
		return nil
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		f, err := p.number()
		if err != nil {
			return err
		}
		p.out.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		return nil
	}
	for _, w := range []struct{ js, json string }{{"true", "true"}, {"false", "false"}, {"null", "null"}, {"void 0", "null"}} {
		if p.hasPrefix(w.js) && !p.identAt(p.pos+len(w.js)) {
			p.pos += len(w.js)
			p.out.WriteString(w.json)
			return nil
		}
	}
	return p.errorf("unexpected character %q", c)
}

// identAt reports whether the byte at i continues an identifier.
func (p *litParser) identAt(i int) bool {
	return i < len(p.src) && isIdent(p.src[i])
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *litParser) object(depth int) error {
	p.pos++ // {
	p.out.WriteByte('{')
	first := true
	for {
		c := p.peek()
		if c == '}' {
			p.pos++
			p.out.WriteByte('}')
			return nil
		}
		if !first {
			if c != ',' {
				return p.errorf("want ',' or '}' in object, got %q", c)
			}
			p.pos++
			if p.peek() == '}' { // trailing comma
				continue
			}
			p.out.WriteByte(',')
		}
		first = false
		key, err := p.key()
		if err != nil {
			return err
		}
		p.writeString(key)
		if p.peek() != ':' {
			return p.errorf("want ':' after key %q", key)
		}
		p.pos++
		p.out.WriteByte(':')
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

func (p *litParser) key() (string, error) {
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		return p.str()
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
			p.pos++
		}
		return string(p.src[start:p.pos]), nil
	case isIdent(c):
		start := p.pos
		for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
			p.pos++
		}
		return string(p.src[start:p.pos]), nil
	}
	return "", p.errorf("want an object key, got %q", c)
}

func (p *litParser) array(depth int) error {
	p.pos++ // [
	p.out.WriteByte('[')
	first := true
	for {
		c := p.peek()
		if c == ']' {
			p.pos++
			p.out.WriteByte(']')
			return nil
		}
		if !first {
			if c != ',' {
				return p.errorf("want ',' or ']' in array, got %q", c)
			}
			p.pos++
			if p.peek() == ']' {
				continue
			}
			p.out.WriteByte(',')
		}
		first = false
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

// writeString writes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func (p *litParser) writeString(s string) {
	b, _ := json.Marshal(s) // a string always marshals
	p.out.Write(b)
}

// str reads a quoted JavaScript string with the common escapes.
func (p *litParser) str() (string, error) {
	q := p.src[p.pos]
	p.pos++
	start := p.pos
	// Fast path: no escapes.
	if i := bytes.IndexByte(p.src[p.pos:], q); i >= 0 && bytes.IndexByte(p.src[p.pos:p.pos+i], '\\') < 0 {
		p.pos += i + 1
		return string(p.src[start : p.pos-1]), nil
	}
	var b []byte
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == q:
			return string(b), nil
		case c == '\n':
			return "", p.errorf("newline in string")
		case c != '\\':
			b = append(b, c)
			continue
		}
		if p.pos >= len(p.src) {
			break
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'v':
			b = append(b, '\v')
		case '0':
			b = append(b, 0)
		case 'x', 'u':
			n := 2
			if e == 'u' {
				n = 4
			}
			if p.pos+n > len(p.src) {
				return "", p.errorf("short \\%c escape", e)
			}
			v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
			if err != nil {
				return "", p.errorf("bad \\%c escape", e)
			}
			p.pos += n
			b = append(b, string(rune(v))...)
		default:
			b = append(b, e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *litParser) number() (float64, error) {
	start := p.pos
	if c := p.src[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
			((c == '-' || c == '+') && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E')) {
			p.pos++
			continue
		}
		break
	}
	f, err := strconv.ParseFloat(string(p.src[start:p.pos]), 64)
	if err != nil {
		bad := string(p.src[start:p.pos])
		p.pos = start
		return 0, p.errorf("bad number %q", bad)
	}
	return f, nil
}
