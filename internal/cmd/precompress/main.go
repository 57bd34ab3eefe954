// Command precompress writes FILE.br beside each FILE given, at Brotli's
// best level, for `catsynth serve` to send browsers that accept br (see
// webapp: it checks that the .br still decompresses to the file). The best
// level takes about a minute for the page's wasm, which is why it runs at
// build time (make wasm) and not in the server. A FILE.br that already
// decompresses to FILE is left alone, so a rebuild that did not change the
// wasm costs a decompression, not a compression.
//
//	go run ./internal/cmd/precompress public/catsynth.wasm
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"catsynth/internal/atomicfile"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := precompress(path); err != nil {
			fmt.Fprintf(os.Stderr, "precompress: %v\n", err)
			os.Exit(1)
		}
	}
}

func precompress(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out := path + ".br"
	if current(out, raw) {
		fmt.Printf("%s is current\n", out)
		return nil
	}
	start := time.Now()
	var n int
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		bw := brotli.NewWriterOptions(cw, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
		if _, err := bw.Write(raw); err != nil {
			return err
		}
		err := bw.Close()
		n = cw.n
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	fmt.Printf("wrote %s: %d -> %d bytes (%.1f%%) in %.0fs\n", out, len(raw), n, 100*float64(n)/float64(len(raw)), time.Since(start).Seconds())
	return nil
}

// current reports whether out exists and decompresses to raw.
func current(out string, raw []byte) bool {
	br, err := os.ReadFile(out)
	if err != nil {
		return false
	}
	got, err := io.ReadAll(io.LimitReader(brotli.NewReader(bytes.NewReader(br)), int64(len(raw))+1))
	return err == nil && bytes.Equal(got, raw)
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}
