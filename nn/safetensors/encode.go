package safetensors

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// Encode writes tensors and meta to w as one safetensors file. Tensors are
// laid out in name order; the header lists "__metadata__" first (only when
// meta is non-empty), then the tensors in name order, and is padded with
// spaces so the data section starts 8-byte aligned. Output is deterministic.
//
// Stored dtype is F32, or F16 with opt.F16. Encode returns an error, before
// writing anything, for an empty or duplicate name, the reserved name
// "__metadata__", a negative dimension, or len(Data) not matching the
// shape; tensors is not modified.
func Encode(w io.Writer, tensors []Tensor, meta map[string]string, opt WriteOptions) error {
	enc, err := newEncoding(tensors, meta, opt)
	if err != nil {
		return err
	}
	return enc.writeTo(w)
}

// encoding is a validated, laid-out file ready to write.
type encoding struct {
	header  []byte   // length prefix + padded JSON header
	tensors []Tensor // in data order (by name)
	entries []entry  // their header records, in the same order
	f16     bool
	size    int64 // total bytes of the file
}

func newEncoding(tensors []Tensor, meta map[string]string, opt WriteOptions) (*encoding, error) {
	if _, stale := meta[DigestKey]; stale || opt.Digest {
		clean := make(map[string]string, len(meta)+1)
		for k, v := range meta {
			if k != DigestKey {
				clean[k] = v
			}
		}
		meta = clean
	}
	enc, err := layOut(tensors, meta, opt)
	if err != nil || !opt.Digest {
		return enc, err
	}
	// The digest covers the layout, which the digest's own entry in the
	// header does not change (offsets are relative to the data section).
	h := newDigest(meta, enc.entries)
	if err := enc.writeData(h); err != nil {
		return nil, err
	}
	meta[DigestKey] = digestValue(h)
	return layOut(tensors, meta, opt)
}

func layOut(tensors []Tensor, meta map[string]string, opt WriteOptions) (*encoding, error) {
	sorted := make([]Tensor, len(tensors))
	copy(sorted, tensors)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	elem := int64(4)
	dt := "F32"
	if opt.F16 {
		elem, dt = 2, "F16"
	}

	var h []byte
	h = append(h, '{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta) // sorted keys, string values
		if err != nil {
			return nil, fmt.Errorf("safetensors: encoding metadata: %v", err)
		}
		h = append(h, `"`+metadataKey+`":`...)
		h = append(h, m...)
	}
	var off int64
	var entries []entry
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("safetensors: tensor %d has an empty name", i)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("safetensors: %q is reserved and cannot name a tensor", metadataKey)
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		count := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			if d != 0 && count > math.MaxInt/4/d {
				return nil, fmt.Errorf("safetensors: tensor %q: shape %v is too large", t.Name, t.Shape)
			}
			count *= d
		}
		if count != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v has %d elements but Data has %d", t.Name, t.Shape, count, len(t.Data))
		}
		if len(h) > 1 {
			h = append(h, ',')
		}
		name, _ := json.Marshal(t.Name) // a string always marshals
		h = append(h, name...)
		h = append(h, `:{"dtype":"`+dt+`","shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		end := off + int64(count)*elem
		entries = append(entries, entry{name: t.Name, dtypeName: dt, shape: t.Shape, begin: off, end: end})
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, off, 10)
		h = append(h, ',')
		h = strconv.AppendInt(h, end, 10)
		h = append(h, "]}"...)
		off = end
	}
	h = append(h, '}')
	for (8+len(h))%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > maxHeaderLen {
		return nil, fmt.Errorf("safetensors: header would be %d bytes, over the %d-byte limit readers accept", len(h), maxHeaderLen)
	}
	header := make([]byte, 8, 8+len(h))
	putLE64(header, uint64(len(h)))
	header = append(header, h...)
	return &encoding{header: header, tensors: sorted, entries: entries, f16: opt.F16, size: int64(len(header)) + off}, nil
}

// writeChunk is the number of elements converted per write for non-native
// output.
const writeChunk = 64 << 10

func (e *encoding) writeTo(w io.Writer) error {
	if _, err := w.Write(e.header); err != nil {
		return err
	}
	return e.writeData(w)
}

// writeData writes the data section.
func (e *encoding) writeData(w io.Writer) error {
	var buf []byte
	for _, t := range e.tensors {
		if !e.f16 && hostLittleEndian {
			if _, err := w.Write(float32Bytes(t.Data)); err != nil {
				return err
			}
			continue
		}
		for d := t.Data; len(d) > 0; {
			k := min(len(d), writeChunk)
			if e.f16 {
				buf = grow(buf, 2*k)
				for i, v := range d[:k] {
					putLE16(buf[2*i:], F32ToF16(v))
				}
			} else {
				buf = grow(buf, 4*k)
				for i, v := range d[:k] {
					putLE32(buf[4*i:], f32bits(v))
				}
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
			d = d[k:]
		}
	}
	return nil
}

// grow returns b resized to n bytes, reusing its memory when it can.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
