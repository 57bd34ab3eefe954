package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"sort"
)

// entry is one tensor's header record, validated.
type entry struct {
	name       string
	dtypeName  string
	dt         dtype
	shape      []int
	count      int   // product of shape
	begin, end int64 // byte offsets relative to the start of the data section
}

// Decode parses a safetensors file held in data; name (usually the path)
// only appears in error messages. data may also be a zstd-compressed
// safetensors file: it is recognized by the zstd magic bytes, which cannot
// start a valid uncompressed file (they would mean a header over 4 GB).
//
// Every tensor comes back as float32. Float kinds (F32, F16, BF16, F64) are
// converted exactly, or rounded to nearest for F64. Integer and bool tensors
// (I64, U64, I32, U32, I16, U16, I8, U8, BOOL; e.g. BatchNorm's
// num_batches_tracked, stored by PyTorch as I64) are also exposed as float32
// values: exact up to 2^24 in magnitude, rounded to nearest beyond; BOOL
// becomes 0 or 1. F8 types are refused.
//
// Any malformed input yields an error naming the file; Decode never panics.
// The result does not alias data.
func Decode(data []byte, name string) (*File, error) {
	if isZstd(data) {
		out, err := decompress(data)
		if err != nil {
			return nil, errorf(name, "bad zstd stream: %v", err)
		}
		data = out
	}
	return decodeFrom(bytes.NewReader(data), int64(len(data)), name)
}

// decodeFrom decodes an uncompressed safetensors file of exactly size bytes
// read sequentially from r. Everything is validated against size before any
// tensor memory is allocated, and F32 data is read straight into the tensors
// (one copy on little-endian hosts).
func decodeFrom(r io.Reader, size int64, name string) (*File, error) {
	if size < 8 {
		return nil, errorf(name, "truncated: %d bytes, shorter than the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, readError(name, "the header length", err)
	}
	n := le64(lenBuf[:])
	if n > maxHeaderLen {
		return nil, errorf(name, "header length %d bytes exceeds the %d-byte limit: corrupt or not a safetensors file", n, maxHeaderLen)
	}
	if int64(n) > size-8 {
		return nil, errorf(name, "truncated: header length is %d bytes but only %d bytes follow it", n, size-8)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, readError(name, "the header", err)
	}
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, errorf(name, "%v", err)
	}
	if err := checkLayout(entries, size-8-int64(n)); err != nil {
		return nil, errorf(name, "%v", err)
	}

	// entries are now in data order: read sequentially, hashing the bytes
	// as they come when the file carries a digest.
	want, hasDigest := meta[DigestKey]
	var h hash.Hash
	if hasDigest {
		h = newDigest(meta, entries)
	}
	tensors := make([]Tensor, len(entries))
	var scratch []byte
	for i, e := range entries {
		t := Tensor{Name: e.name, Shape: e.shape, Data: make([]float32, e.count)}
		if err := readTensor(r, e, t.Data, &scratch, h); err != nil {
			return nil, readError(name, fmt.Sprintf("tensor %q", e.name), err)
		}
		tensors[i] = t
	}
	if hasDigest && digestValue(h) != want {
		return nil, errorf(name, "checksum mismatch: the file is corrupt (its contents do not match the %s digest in its metadata)", DigestKey)
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	return &File{Tensors: tensors, Metadata: meta}, nil
}

// readError words a failed read: running out of bytes is a truncated file.
func readError(name, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(name, "truncated: the file ends inside %s", what)
	}
	return errorf(name, "reading %s: %v", what, err)
}

// parseHeader parses the JSON header, rejecting duplicate names (which
// encoding/json would silently merge), unknown dtypes and malformed entries.
// Unknown fields inside an entry are ignored, as the reference
// implementation does.
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("corrupt header JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("corrupt header JSON: the header is not a JSON object")
	}
	var (
		entries []entry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt header JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok { // unreachable: the decoder only yields string keys
			return nil, nil, fmt.Errorf("corrupt header JSON: non-string key %v", tok)
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicate name %q in the header", key)
		}
		seen[key] = true
		if key == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("corrupt header JSON: %s must map strings to strings: %v", metadataKey, err)
			}
			continue
		}
		var msg json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			return nil, nil, fmt.Errorf("corrupt header JSON for tensor %q: %v", key, err)
		}
		if len(msg) == 0 || msg[0] != '{' {
			return nil, nil, fmt.Errorf("corrupt header JSON for tensor %q: want an object with dtype, shape and data_offsets, got %.40s", key, msg)
		}
		var raw headerEntry
		if err := json.Unmarshal(msg, &raw); err != nil {
			return nil, nil, fmt.Errorf("corrupt header JSON for tensor %q: %v", key, err)
		}
		e, err := newEntry(key, raw.DType, raw.Shape, raw.Offsets)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, fmt.Errorf("corrupt header JSON: %v", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt header JSON after the header object: %v", err)
		}
		return nil, nil, fmt.Errorf("corrupt header JSON: unexpected %v after the header object", tok)
	}
	return entries, meta, nil
}

// headerEntry is one tensor's record as JSON holds it; nil fields are
// missing.
type headerEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int   `json:"shape"`
	Offsets *[]int64 `json:"data_offsets"`
}

// newEntry validates one header record on its own (the layout is checked
// later, across entries).
func newEntry(name string, dt *string, shape *[]int, offsets *[]int64) (entry, error) {
	switch {
	case dt == nil:
		return entry{}, fmt.Errorf("tensor %q: missing dtype", name)
	case shape == nil:
		return entry{}, fmt.Errorf("tensor %q: missing shape", name)
	case offsets == nil:
		return entry{}, fmt.Errorf("tensor %q: missing data_offsets", name)
	}
	d, ok := dtypes[*dt]
	if !ok {
		return entry{}, fmt.Errorf("tensor %q: unknown or unsupported dtype %q (supported: %s)", name, *dt, dtypeNames)
	}
	if len(*offsets) != 2 {
		return entry{}, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, *offsets)
	}
	e := entry{name: name, dtypeName: *dt, dt: d, shape: *shape, begin: (*offsets)[0], end: (*offsets)[1]}
	if e.begin < 0 || e.end < e.begin {
		return entry{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] are out of order (need 0 <= begin <= end)", name, e.begin, e.end)
	}
	span := e.end - e.begin
	// Multiply with a bound so a huge shape cannot overflow into a match.
	count := 1
	for _, dim := range e.shape {
		if dim < 0 {
			return entry{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.shape)
		}
		if dim != 0 && count > math.MaxInt/d.size/dim {
			return entry{}, fmt.Errorf("tensor %q: shape %v of %s needs more bytes than data_offsets [%d, %d] span (%d)", name, e.shape, e.dtypeName, e.begin, e.end, span)
		}
		count *= dim
	}
	if int64(count)*int64(d.size) != span {
		return entry{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d", name, e.shape, e.dtypeName, int64(count)*int64(d.size), e.begin, e.end, span)
	}
	e.count = count
	return e, nil
}

// checkLayout sorts entries by offset and checks that they tile the data
// section of dataLen bytes exactly, as the format requires.
func checkLayout(entries []entry, dataLen int64) error {
	for _, e := range entries {
		if e.end > dataLen {
			return fmt.Errorf("truncated: tensor %q needs data bytes [%d, %d) but the data section has only %d bytes", e.name, e.begin, e.end, dataLen)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		if a.end != b.end {
			return a.end < b.end
		}
		return a.name < b.name
	})
	var pos int64
	prev := ""
	for _, e := range entries {
		switch {
		case e.begin < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, pos)
		case e.begin > pos:
			return fmt.Errorf("data bytes [%d, %d) belong to no tensor (a gap before tensor %q)", pos, e.begin, e.name)
		}
		pos = e.end
		if e.end > e.begin {
			prev = e.name
		}
	}
	if pos != dataLen {
		return fmt.Errorf("the last %d data bytes belong to no tensor (tensors cover %d of %d)", dataLen-pos, pos, dataLen)
	}
	return nil
}

// readChunk is the scratch size for converting non-F32 data: large enough
// to amortize reads, small enough to stay in cache. A multiple of 8.
const readChunk = 256 << 10

// readTensor reads e's bytes from r (positioned at e.begin) into dst, and
// into h when it is not nil.
func readTensor(r io.Reader, e entry, dst []float32, scratch *[]byte, h hash.Hash) error {
	if e.dtypeName == "F32" && hostLittleEndian {
		b := float32Bytes(dst)
		_, err := io.ReadFull(r, b)
		if h != nil {
			h.Write(b)
		}
		return err
	}
	per := readChunk / e.dt.size
	for len(dst) > 0 {
		k := min(per, len(dst))
		need := k * e.dt.size
		if cap(*scratch) < need {
			*scratch = make([]byte, need)
		}
		buf := (*scratch)[:need]
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if h != nil {
			h.Write(buf)
		}
		e.dt.convert(dst[:k], buf)
		dst = dst[k:]
	}
	return nil
}
