#!/usr/bin/env bash
# bench-peers.sh: catsynth's CPU benchmarks beside numpy (OpenBLAS) and
# PyTorch, interleaved in one run (scripts/bench_peers.py has the rows and
# the peers' configuration). Builds the catsynth binary and the benchmark
# test binaries into bench-out/peers/, then writes the markdown table to
# docs/benchmarks/peers-DATE.md (and stdout).
#
#   scripts/bench-peers.sh [--quick] [--only SUBSTR] [--reps N] [--out FILE]
#
# The machine should be quiet (load < 1.5, see uptime); the load average is
# printed before and after each table either way.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bindir="$root/bench-out/peers"
mkdir -p "$bindir" docs/benchmarks
go build -o "$bindir/catsynth" ./cmd/catsynth
go test -c -o "$bindir/gan" ./models/gan
go test -c -o "$bindir/eval" ./eval
go test -c -o "$bindir/diffusion" ./models/diffusion
out="docs/benchmarks/peers-$(date -u +%Y-%m-%d).md"
for a in "$@"; do [ "$a" = --out ] && out=""; done
echo "uptime: $(uptime)"
exec /usr/bin/python3 scripts/bench_peers.py "$bindir" ${out:+--out "$out"} "$@"
