#!/usr/bin/env bash
# loadtest.sh: wrk against `catsynth serve` on loopback, as docs/RELIABILITY.md
# ("Server") records it: the wasm cold (the first requests a fresh server
# gets, gzip accepted), the wasm warm, the page and a model file, each with
# $CONNS connections on $THREADS threads for $DUR. Prints a markdown table:
# requests/s, latency p50/p99, errors (socket errors and non-2xx), timeouts
# (responses slower than $TIMEOUT, wrk's default 2 s), the server's peak RSS so far, and the CPU seconds the server
# used in the 5 s after the clients left. Exits 1 on any error or timeout.
#
# usage: scripts/loadtest.sh [bin/catsynth]   (make loadtest builds it first)
set -euo pipefail
BIN=${1:-bin/catsynth}
CONNS=${CONNS:-200}
THREADS=${THREADS:-2}
DUR=${DUR:-20s}
TIMEOUT=${TIMEOUT:-2s} # wrk's own default
command -v wrk >/dev/null || { echo "loadtest: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "loadtest: $BIN not built (make build)" >&2; exit 1; }
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

start_server() {
	[ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
	"$BIN" serve --addr 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
	pid=$!
	for _ in $(seq 100); do
		url=$(grep -o 'http://[0-9.:]*/' "$tmp/serve.out" || true)
		[ -n "$url" ] && return 0
		sleep 0.1
	done
	echo "loadtest: server did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

failed=0
run() { # name path [gzip]
	local name=$1 path=$2 hdr=()
	[ "${3:-}" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
	wrk -c "$CONNS" -t "$THREADS" -d "$DUR" --timeout "$TIMEOUT" --latency "${hdr[@]}" "${url%/}$path" >"$tmp/wrk.out"
	local t0 t1
	t0=$(cpu_ticks); sleep 5; t1=$(cpu_ticks)
	awk -v name="$name" -v rss="$(peak_rss_mb)" -v after="$(( (t1 - t0) / $(getconf CLK_TCK) ))" '
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = $2 }
		/^ +99%/ { p99 = $2 }
		/requests in/ { n = $1 }
		/Socket errors/ { gsub(",", ""); err += $4 + $6 + $8; to = $10 }
		/Non-2xx/ { err += $5 }
		END { printf "| %s | %d | %.0f | %s | %s | %d | %d | %s | %s |\n", name, n, rps, p50, p99, err, to, rss, after
		      if (err + to > 0) exit 1 }' "$tmp/wrk.out" || failed=1
}

echo "load test $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg); wrk -c $CONNS -t $THREADS -d $DUR --timeout $TIMEOUT"
echo
echo "| target | requests | req/s | p50 | p99 | errors | timeouts | server peak RSS (MB) | server CPU s in 5 s after |"
echo "|---|---|---|---|---|---|---|---|---|"
start_server
run "wasm, cold server (gzip)" /catsynth.wasm gzip
run "wasm, warm (gzip)" /catsynth.wasm gzip
run "page /" / gzip
model=$(curl -s "${url}models/index.json" | grep -o '"url":"models/[^"]*safetensors.zst"' | head -1 | cut -d'"' -f4)
run "model file /$model" "/$model"
exit $failed
