package safetensors

import (
	"encoding/binary"
	"math"
	"unsafe"
)

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func f32frombits(u uint32) float32 { return math.Float32frombits(u) }
func f64frombits(u uint64) float64 { return math.Float64frombits(u) }

// hostLittleEndian reports whether float32 memory has the file's byte order,
// so F32 data can move between file and []float32 with one copy.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// float32Bytes views the memory of s as bytes (len(s)*4 of them).
func float32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

func f32bits(f float32) uint32 { return math.Float32bits(f) }

func putLE64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

func putLE16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
func putLE32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
