package safetensors

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
	"strconv"
)

// DigestKey is the metadata entry where WriteOptions.Digest stores a
// SHA-256 of the file's content: the safetensors format has no checksum, so
// without it a flipped bit in the data changes a weight silently, and one
// in the header can rename a tensor or a class. The value is "sha256:" and
// 64 hex digits over, in order: the other metadata entries (sorted by key),
// each tensor's name, dtype, shape and data offsets (in data order), and the
// data section's bytes. Readers verify it when present; files without it
// (converted or older checkpoints) load as before.
const DigestKey = "catsynth_sha256"

const digestPrefix = "sha256:"

// newDigest starts a digest over the header part of a file: meta (without
// DigestKey) and the tensor records, which must be in data order. The
// caller then writes the data section's bytes into it.
func newDigest(meta map[string]string, entries []entry) hash.Hash {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put("catsynth safetensors digest 1")
	keys := make([]string, 0, len(meta))
	for k := range meta {
		if k != DigestKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	put(strconv.Itoa(len(keys)))
	for _, k := range keys {
		put(k)
		put(meta[k])
	}
	put(strconv.Itoa(len(entries)))
	for _, e := range entries {
		put(e.name)
		put(e.dtypeName)
		put(strconv.Itoa(len(e.shape)))
		for _, d := range e.shape {
			put(strconv.Itoa(d))
		}
		put(strconv.FormatInt(e.begin, 10))
		put(strconv.FormatInt(e.end, 10))
	}
	return h
}

func digestValue(h hash.Hash) string { return digestPrefix + hex.EncodeToString(h.Sum(nil)) }
