package safetensors

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// TestZipBombRefused is the regression test for a small .zst file that
// inflated to gigabytes (101 s and 12 GB before failing): a stream that
// inflates past 500 times its size (at least 256 MiB) is refused quickly,
// whether its frame declares the size or not.
func TestZipBombRefused(t *testing.T) {
	zeros := make([]byte, 300<<20) // 300 MiB of zeros compress to a few KB
	for _, withSize := range []bool{true, false} {
		var buf bytes.Buffer
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			t.Fatal(err)
		}
		if withSize {
			zw.ResetContentSize(&buf, int64(len(zeros)))
		}
		zw.Write(zeros)
		zw.Close()
		start := time.Now()
		_, err = Decode(buf.Bytes(), "bomb.safetensors.zst")
		t.Logf("frame size declared %v: %d compressed bytes, refused in %v: %v", withSize, buf.Len(), time.Since(start), err)
		if err == nil || !strings.Contains(err.Error(), "zip bomb") || !strings.Contains(err.Error(), "bomb.safetensors.zst") {
			t.Errorf("declared size %v: %v", withSize, err)
		}
	}
}
