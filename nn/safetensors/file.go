package safetensors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"catsynth/internal/atomicfile"
)

// zstdMagic starts every zstd frame. As a safetensors header length it
// would read as more than 4 GB, far over the limit, so the two formats
// cannot be confused.
const zstdMagic = "\x28\xb5\x2f\xfd"

func isZstd(b []byte) bool { return bytes.HasPrefix(b, []byte(zstdMagic)) }

// MaxDecompressed bounds what a zstd file may inflate to (4 GiB: the
// official 660M-parameter diffusion model in float32 is 2.6 GB).
var MaxDecompressed uint64 = 4 << 30

// maxRatio bounds inflation relative to the compressed size: weights
// compress a few times at most, so a file that claims 500 times its size
// (at least 256 MiB) is a zip bomb, refused in milliseconds instead of
// filling memory for minutes.
const maxRatio = 500

// decompressLimit is what a zstd stream of n bytes may inflate to.
func decompressLimit(n int) uint64 {
	return min(MaxDecompressed, max(256<<20, maxRatio*uint64(n)))
}

// decompress inflates a whole zstd stream, refusing to go past
// decompressLimit. The decoder preallocates from the frame's content size
// (which WriteFile records), bounded by that limit, so a lying size cannot
// force a huge allocation either.
func decompress(b []byte) ([]byte, error) {
	limit := decompressLimit(len(b))
	var h zstd.Header
	if err := h.Decode(b); err == nil && h.HasFCS && h.FrameContentSize > limit {
		return nil, fmt.Errorf("the stream says it inflates to %d bytes, over the limit of %d (%d x its %d bytes, at most %d): not a model file, or a zip bomb", h.FrameContentSize, limit, maxRatio, len(b), MaxDecompressed)
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(limit))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil && errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, fmt.Errorf("it inflates past the limit of %d bytes (%d x its %d bytes, at most %d): not a model file, or a zip bomb", limit, maxRatio, len(b), MaxDecompressed)
	}
	return out, err
}

// ReadFile reads a safetensors file, zstd-compressed or not: compression is
// detected by the zstd magic bytes, whatever the name. See [Decode] for
// the dtypes accepted and how they are converted.
//
// An uncompressed file is streamed: the header is validated against the
// file size first, then each tensor's bytes are read straight into its
// []float32, so memory is the tensors plus small buffers and the time is
// close to a plain read. A compressed file is decompressed into memory first.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, errorf(path, "%v", err)
	}
	prefix := magic[:n]
	if !st.Mode().IsRegular() {
		all, err := io.ReadAll(io.MultiReader(bytes.NewReader(prefix), f))
		if err != nil {
			return nil, errorf(path, "%v", err)
		}
		return Decode(all, path)
	}
	if isZstd(prefix) {
		// One exact-size buffer (io.ReadAll would grow by copying).
		all := make([]byte, st.Size())
		copy(all, prefix)
		if _, err := io.ReadFull(f, all[len(prefix):]); err != nil {
			return nil, readError(path, "the zstd stream", err)
		}
		return Decode(all, path)
	}
	file, err := decodeFrom(io.MultiReader(bytes.NewReader(prefix), f), st.Size(), path)
	if err != nil && strings.HasSuffix(path, ".zst") {
		err = fmt.Errorf("%w (the name ends in .zst but the file does not start with the zstd magic bytes)", err)
	}
	return file, err
}

// testWrapWriter, when set by tests, wraps the temp file's writer so that a
// failure in the middle of a write can be injected.
var testWrapWriter func(io.Writer) io.Writer

// WriteFile writes tensors and meta to path as safetensors (see [Encode]),
// zstd-compressed when path ends in ".zst" (the frame records its content
// size so readers can preallocate).
//
// The write is atomic: data goes to a temp file in the same directory
// (atomicfile's naming, so a killed writer's temp is removed at the next
// write of path), which is fsynced and then renamed over path. On any error the previous
// file at path is untouched and the temp file is removed. The new file
// keeps the permission bits of the file it replaces, or gets 0644.
func WriteFile(path string, tensors []Tensor, meta map[string]string, opt WriteOptions) (err error) {
	enc, err := newEncoding(tensors, meta, opt)
	if err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	var w io.Writer = tmp
	if testWrapWriter != nil {
		w = testWrapWriter(w)
	}
	if strings.HasSuffix(path, ".zst") {
		zw, zerr := zstd.NewWriter(nil)
		if zerr != nil {
			return errorf(path, "zstd: %v", zerr)
		}
		zw.ResetContentSize(w, enc.size)
		if err = enc.writeTo(zw); err != nil {
			zw.Close()
			return errorf(path, "writing: %v", err)
		}
		if err = zw.Close(); err != nil {
			return errorf(path, "writing: %v", err)
		}
	} else if err = enc.writeTo(w); err != nil {
		return errorf(path, "writing: %v", err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return errorf(path, "%v", err)
	}
	if err = tmp.Sync(); err != nil {
		return errorf(path, "syncing: %v", err)
	}
	if err = tmp.Close(); err != nil {
		return errorf(path, "closing: %v", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	atomicfile.SyncDir(dir)
	return nil
}
