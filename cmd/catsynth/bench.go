package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"catsynth/nn"
	"catsynth/nn/backend"
)

func init() {
	register(command{
		name:    "bench",
		summary: "time the engine's kernels on a backend (GFLOP/s, GB/s)",
		run:     runBench,
	})
}

// benchCase is one kernel timing. setup allocates inputs and returns the
// kernel call and a sync that waits for the queued work (a download).
type benchCase struct {
	name  string
	flops float64 // floating point operations per call (0: report bytes instead)
	bytes float64 // bytes moved per call, for memory-bound kernels
	setup func(b backend.Backend, rng *rand.Rand) (run func(), sync func() error, free func(), err error)
}

// benchResult is one line of `catsynth bench --json`.
type benchResult struct {
	Name     string  `json:"name"`
	Backend  string  `json:"backend"`
	Reps     int     `json:"reps"`
	Seconds  float64 `json:"seconds_per_call"`
	GFLOPS   float64 `json:"gflops,omitempty"`
	GBPerSec float64 `json:"gb_per_s,omitempty"`
}

func runBench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "transfer" {
		return runBenchTransfer(ctx, args[1:]) // benchtransfer.go
	}
	fs := newFlags("bench", "[--backend B] [--only SUBSTR] [--large] [--json]")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	only := fs.String("only", "", "run only cases whose name contains this")
	large := fs.Bool("large", false, "include the large cases (matmul 4096^3, generator-size convolutions); slow on CPU and software GPUs")
	minTime := fs.Duration("time", time.Second, "minimum time spent per case")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	seed := fs.Uint64("seed", 1, "seed of the random inputs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dev, err := openDevice(*backendName)
	if err != nil {
		return err
	}
	b := dev.Backend()
	if !*asJSON {
		fmt.Printf("%-44s %10s %12s %10s\n", "case", "ms/call", "GFLOP/s", "GB/s")
	}
	rng := rand.New(rand.NewPCG(*seed, 0))
	for _, c := range benchCases(dev, *large) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		r, err := timeCase(c, b, rng, *minTime)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if *asJSON {
			line, _ := json.Marshal(r)
			fmt.Println(string(line))
			continue
		}
		fmt.Printf("%-44s %10.3f %12.1f %10.1f\n", r.Name, r.Seconds*1e3, r.GFLOPS, r.GBPerSec)
	}
	return nil
}

// timeCase runs a case once to warm up (pipelines, autotune), then in growing
// batches until minTime has passed, synchronising with a download after each batch.
func timeCase(c benchCase, b backend.Backend, rng *rand.Rand, minTime time.Duration) (benchResult, error) {
	run, sync, free, err := c.setup(b, rng)
	if err != nil {
		return benchResult{}, err
	}
	defer free()
	run()
	if err := sync(); err != nil {
		return benchResult{}, err
	}
	reps, total := 0, time.Duration(0)
	for n := 1; total < minTime; n *= 2 {
		start := time.Now()
		for range n {
			run()
		}
		if err := sync(); err != nil {
			return benchResult{}, err
		}
		total += time.Since(start)
		reps += n
	}
	sec := total.Seconds() / float64(reps)
	r := benchResult{Name: c.name, Backend: b.Name(), Reps: reps, Seconds: sec}
	if c.flops > 0 {
		r.GFLOPS = c.flops / sec / 1e9
	}
	if c.bytes > 0 {
		r.GBPerSec = c.bytes / sec / 1e9
	}
	return r, nil
}

// randomBuffers allocates and fills buffers of the given lengths with values in [-1, 1).
func randomBuffers(b backend.Backend, rng *rand.Rand, lens ...int) ([]backend.Buffer, func(), error) {
	var bufs []backend.Buffer
	free := func() {
		for _, x := range bufs {
			b.Free(x)
		}
	}
	for _, n := range lens {
		buf, err := b.Alloc(n)
		if err != nil {
			free()
			return nil, nil, err
		}
		host := make([]float32, n)
		for i := range host {
			host[i] = 2*rng.Float32() - 1
		}
		b.Upload(buf, host)
		bufs = append(bufs, buf)
	}
	return bufs, free, nil
}

// downloadSync waits for queued work by downloading one value of out.
func downloadSync(b backend.Backend, out backend.Buffer) func() error {
	sink := make([]float32, 1)
	return func() error { return b.Download(out, sink) }
}

func matmulCase(n int) benchCase {
	p := backend.MatMul{Batch: 1, M: n, N: n, K: n}
	return benchCase{
		name:  fmt.Sprintf("matmul %d^3", n),
		flops: p.Flops(),
		setup: func(b backend.Backend, rng *rand.Rand) (func(), func() error, func(), error) {
			bufs, free, err := randomBuffers(b, rng, n*n, n*n, n*n)
			if err != nil {
				return nil, nil, nil, err
			}
			return func() { b.MatMul(bufs[2], bufs[0], bufs[1], p) }, downloadSync(b, bufs[2]), free, nil
		},
	}
}

// convKind selects the forward pass or one of the two backward passes.
type convKind int

const (
	convForward convKind = iota
	convGradInput
	convGradWeight
)

func convCase(kind convKind, n, c, hw, o int) benchCase {
	p := backend.Conv{N: n, C: c, H: hw, W: hw, O: o, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	name := [...]string{"conv3x3", "conv3x3 grad-input", "conv3x3 grad-weight"}[kind]
	xLen, wLen, yLen := n*c*hw*hw, o*c*9, n*o*p.OH()*p.OW()
	return benchCase{
		name:  fmt.Sprintf("%s B%d C%d %dx%d O%d", name, n, c, hw, hw, o),
		flops: p.Flops(),
		setup: func(b backend.Backend, rng *rand.Rand) (func(), func() error, func(), error) {
			bufs, free, err := randomBuffers(b, rng, xLen, wLen, yLen)
			if err != nil {
				return nil, nil, nil, err
			}
			x, w, y := bufs[0], bufs[1], bufs[2]
			switch kind {
			case convGradInput:
				return func() { b.Conv2DGradInput(x, y, w, p) }, downloadSync(b, x), free, nil
			case convGradWeight:
				return func() { b.Conv2DGradWeight(w, x, y, p) }, downloadSync(b, w), free, nil
			}
			return func() { b.Conv2D(y, x, w, p) }, downloadSync(b, y), free, nil
		},
	}
}

func elementwiseCase(n int) benchCase {
	return benchCase{
		name:  fmt.Sprintf("add %dM", n>>20),
		bytes: 3 * 4 * float64(n),
		setup: func(b backend.Backend, rng *rand.Rand) (func(), func() error, func(), error) {
			bufs, free, err := randomBuffers(b, rng, n, n, n)
			if err != nil {
				return nil, nil, nil, err
			}
			p := backend.Broadcast{Shape: []int{n}, AStrides: []int{1}, BStrides: []int{1}}
			return func() { b.Binary(backend.Add, bufs[2], bufs[0], bufs[1], p) }, downloadSync(b, bufs[2]), free, nil
		},
	}
}

// groupNormStatsCase times the reduction at the heart of group and batch norm:
// per-(batch, group) sums over a generator activation.
func groupNormStatsCase(n, c, hw, groups int) benchCase {
	total := n * c * hw * hw
	return benchCase{
		name:  fmt.Sprintf("norm stats B%d C%d %dx%d G%d", n, c, hw, hw, groups),
		bytes: 4 * float64(total),
		setup: func(b backend.Backend, rng *rand.Rand) (func(), func() error, func(), error) {
			bufs, free, err := randomBuffers(b, rng, total, n*groups)
			if err != nil {
				return nil, nil, nil, err
			}
			p := backend.Reduction{Shape: []int{n * groups, total / (n * groups)}, Axes: []bool{false, true}}
			return func() { b.Reduce(backend.Sum, bufs[1], bufs[0], p) }, downloadSync(b, bufs[1]), free, nil
		},
	}
}

// groupNormCase times nn.GroupNorm as the models call it: the composed op
// (reductions, broadcast arithmetic) with a weight and bias, forward only.
func groupNormCase(dev *nn.Device, n, c, hw, groups int) benchCase {
	total := n * c * hw * hw
	return benchCase{
		name:  fmt.Sprintf("group norm B%d C%d %dx%d G%d", n, c, hw, hw, groups),
		bytes: 2 * 4 * float64(total), // one read, one write: the ideal
		setup: func(b backend.Backend, rng *rand.Rand) (func(), func() error, func(), error) {
			host := make([]float32, total)
			for i := range host {
				host[i] = 2*rng.Float32() - 1
			}
			x := dev.FromData(host, n, c, hw, hw)
			w, bias := dev.Ones(c), dev.Zeros(c)
			var y *nn.Tensor // the last output, kept for the sync download
			run := func() {
				if y != nil {
					y.Release()
				}
				s := dev.Scope()
				y = nn.GroupNorm(x, groups, w, bias, 1e-5)
				s.Close(y)
			}
			sync := func() error {
				_, err := y.Data()
				return err
			}
			free := func() {
				for _, t := range []*nn.Tensor{x, w, bias, y} {
					if t != nil {
						t.Release()
					}
				}
			}
			return run, sync, free, nil
		},
	}
}

func benchCases(dev *nn.Device, large bool) []benchCase {
	cases := []benchCase{
		matmulCase(1024),
		matmulCase(2048),
		convCase(convForward, 4, 64, 32, 64),
		convCase(convGradInput, 4, 64, 32, 64),
		convCase(convGradWeight, 4, 64, 32, 64),
		elementwiseCase(1 << 22),
		groupNormStatsCase(4, 256, 32, 32),
		groupNormCase(dev, 4, 256, 32, 32),
	}
	if large {
		cases = append(cases,
			matmulCase(4096),
			convCase(convForward, 16, 256, 64, 256),
			convCase(convForward, 16, 128, 128, 128),
			convCase(convForward, 4, 1024, 16, 1024),
			convCase(convGradInput, 16, 256, 64, 256),
			convCase(convGradWeight, 16, 256, 64, 256),
			groupNormStatsCase(16, 256, 64, 32),
			groupNormCase(dev, 16, 256, 64, 32),
		)
	}
	return cases
}
