#!/usr/bin/env bash
# Runs every fuzz target of catsynth's file decoders for FUZZTIME each, one
# after another, and prints one summary line per target (the numbers
# docs/RELIABILITY.md records). Usage: scripts/fuzz.sh [TARGET...] (default:
# all). FUZZTIME (10m), FUZZPARALLEL (2 workers), FUZZMINIMIZETIME (1s) and
# FUZZLOG (bench-out/fuzz)
# tune it. A crash leaves its input under the package's testdata/fuzz/ and
# makes the script exit non-zero after the remaining targets ran.
set -u
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
FUZZPARALLEL=${FUZZPARALLEL:-2}
FUZZLOG=${FUZZLOG:-bench-out/fuzz}
# Minimizing each new interesting input (60 s by default) stalls the workers
# of the packages that link large dependencies for minutes; crashes are still
# reported with their input.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-1s}
GO=${GO:-go}
mkdir -p "$FUZZLOG"

# package target: every decoder a user's file reaches.
TARGETS="
./nn/safetensors FuzzDecode
./nn FuzzDecodeCheckpoint
./dataset FuzzDecodeLabel
./dataset FuzzParseClasses
./dataset FuzzFolder
./affinity FuzzReadJSON
./app FuzzZipTargets
./app FuzzAddTargetFiles
./backbone/keras FuzzDecodeModel
./backbone/keras FuzzJSLiteral
"

want() {
	[ $# -eq 0 ] && return 0
	local t=$1; shift
	for w in "${ONLY[@]}"; do [ "$w" = "$t" ] && return 0; done
	return 1
}
ONLY=("$@")
status=0
while read -r pkg target; do
	[ -z "$pkg" ] && continue
	if [ ${#ONLY[@]} -gt 0 ] && ! want "$target"; then continue; fi
	log="$FUZZLOG/$target.log"
	start=$(date -u +%s)
	nice "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" -parallel "$FUZZPARALLEL" "$pkg" >"$log" 2>&1
	rc=$?
	secs=$(( $(date -u +%s) - start ))
	last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
	result=ok; [ $rc -ne 0 ] && { result="FAILED (see $log)"; status=1; }
	echo "$target ($pkg): ${secs}s wall; ${last#fuzz: }; $result"
done <<<"$TARGETS"
exit $status
