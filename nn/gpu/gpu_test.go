package gpu

import (
	"errors"
	"math/rand"
	"os"
	"sync"
	"testing"

	"catsynth/nn/backend"
)

var _ backend.Backend = (*Backend)(nil)

var (
	sharedOnce sync.Once
	shared     *Backend
	sharedErr  error
)

// openGPU returns a backend shared by the tests of this package. With no
// adapter it skips, unless CATSYNTH_REQUIRE_GPU=1, when it fails.
func openGPU(t testing.TB) *Backend {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New() })
	if sharedErr != nil {
		if os.Getenv("CATSYNTH_REQUIRE_GPU") == "1" || !errors.Is(sharedErr, ErrNoAdapter) {
			t.Fatalf("gpu backend: %v", sharedErr)
		}
		t.Skipf("no GPU adapter: %v", sharedErr)
	}
	return shared
}

// TestReopen opens, uses and releases a fresh backend a few times, as the web
// page does on "Restart engine": each new device works after the last was
// released.
func TestReopen(t *testing.T) {
	openGPU(t) // skips without an adapter
	for i := range 3 {
		b, err := New()
		if err != nil {
			t.Fatal(err)
		}
		x := upload(t, b, []float32{1, 2, 3})
		y := alloc(t, b, 3)
		b.Unary(backend.Square, y, x, 3, backend.Args{})
		if got := download(t, b, y, 3); got[0] != 1 || got[1] != 4 || got[2] != 9 {
			t.Fatalf("device %d: squares of 1 2 3 = %v", i, got)
		}
		b.Release()
	}
}

// newRand returns a seeded generator and logs the seed.
func newRand(t testing.TB, seed int64) *rand.Rand {
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// upload allocates a buffer holding v.
func upload(t testing.TB, b *Backend, v []float32) *Buffer {
	t.Helper()
	x, err := b.alloc(len(v))
	if err != nil {
		t.Fatal(err)
	}
	b.Upload(x, v)
	return x
}

// download reads n values of x.
func download(t testing.TB, b *Backend, x *Buffer, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := b.Download(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// alloc allocates n values or fails the test.
func alloc(t testing.TB, b *Backend, n int) *Buffer {
	t.Helper()
	x, err := b.alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// closeTo compares got with want at relative/absolute tolerance tol.
func closeTo(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		d := g - w
		if d < 0 {
			d = -d
		}
		lim := tol * (1 + abs64(w))
		if !(d <= lim) && !(g != g && w != w) && !(g == w) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g", what, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestSmoke(t *testing.T) {
	b := openGPU(t)
	t.Log(b.Name())
	x := alloc(t, b, 100)
	b.Fill(x, 100, 2.5)
	y := alloc(t, b, 100)
	b.Unary(backend.Square, y, x, 100, backend.Args{})
	got := download(t, b, y, 100)
	for i, v := range got {
		if v != 6.25 {
			t.Fatalf("y[%d] = %v", i, v)
		}
	}
}
