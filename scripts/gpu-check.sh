#!/usr/bin/env bash
# gpu-check.sh: check and time the nn/gpu kernels on a machine with an NVIDIA
# GPU (H100/H200: no network, Go may lack the module cache, PyTorch installed).
#
#   scripts/gpu-check.sh build   # HERE (module cache, apt): build the nn/gpu test
#                                # binary and fetch the libvulkan1 .deb into
#                                # gpu-check-bin/ (ignored by git: *.test), then
#                                # carry gpu-check-bin to the GPU machine
#   scripts/gpu-check.sh         # THERE: run everything, results into $OUT
#
# The GPU machine has Go but no module cache and no network, so `go test`
# cannot build there: the prebuilt test binary is what runs (a binary built
# here runs there unchanged: it links wgpu-native statically).
#
# Steps (each logged to its own file under $OUT, default ./gpu-check-out):
#   0. environment: Vulkan loader (installed from a libvulkan1 .deb when
#      missing: the GPU machine ships none), VK_DRIVER_FILES, nvidia-smi       -> env.txt
#   1. every nn/gpu test with CATSYNTH_REQUIRE_GPU=1 (parity of every kernel
#      variant against float64 references and the CPU backend)       -> parity.txt
#   2. the kernel benchmarks (autotuned): matmul 1024^3, 4096^3; conv3x3 at
#      B16 C256 64x64, B16 C128 128x128, B4 C1024 16x16; grad-input and
#      grad-weight at B16 C256 64x64                                 -> bench.txt
#   3. the same matmul/conv forward benchmarks per forced variant    -> bench-variants.txt
#   4. PyTorch on the same shapes (scripts/torch_kernels.py)         -> torch.txt
#   5. the generator benchmarks on the GPU backend: source presets at 64,
#      128, 256 px, the official OASIS ADE20K generator at 256 px, and a
#      training step                                                 -> gan-bench.txt
#   6. PyTorch with the same generators (scripts/torch_oasis_generator.py) -> torch-gan.txt
#   7. models/gan's TestTorchParity: the PyTorch generator built from a
#      catsynth checkpoint gives the same images                     -> gan-parity.txt
#   8. the diffusion U-Net on the GPU backend: GPU-vs-CPU parity and the
#      forward/sampling benchmarks (sdm32 guided batch 2, 64 px, DDIM
#      images at 10/25/50 steps)                                      -> diffusion-bench.txt
#   9. PyTorch with the same U-Net on CUDA (scripts/torch_sdm_unet.py
#      --bench --device cuda, the config the Go benchmark logged)     -> torch-diffusion.txt
# A failing step is reported and the script goes on; it exits non-zero when
# any step failed.
#
# Environment: OUT (output folder), VULKAN_DEB (path of libvulkan1_*.deb when
# the loader is missing; default: the first gpu-check-bin/libvulkan1_*.deb),
# VK_DRIVER_FILES (default: /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json), BENCHTIME
# (default 10x), GPU_TEST_BIN (prebuilt test binary; default
# gpu-check-bin/gpu.test, else `go test` is used).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
bindir="$root/gpu-check-bin"

if [ "${1:-}" = build ]; then
	mkdir -p "$bindir"
	go test -c -o "$bindir/gpu.test" ./nn/gpu || exit 1
	go test -c -o "$bindir/gan.test" ./models/gan || exit 1
	go test -c -o "$bindir/diffusion.test" ./models/diffusion || exit 1
	# Bring Debian's Vulkan loader along when apt can fetch it (the GPU machine has none).
	if ! ls "$bindir"/libvulkan1_*.deb >/dev/null 2>&1; then
		(cd "$bindir" && apt-get download libvulkan1) || echo "note: could not fetch libvulkan1 .deb; set VULKAN_DEB there"
	fi
	ls -l "$bindir"
	exit 0
fi

OUT=${OUT:-"$root/gpu-check-out"}
mkdir -p "$OUT"
BENCHTIME=${BENCHTIME:-10x}
failed=()

# --- 0. environment ----------------------------------------------------------
{
	date -u
	if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
		deb=${VULKAN_DEB:-$(ls -1 "$bindir"/libvulkan1_*.deb 2>/dev/null | head -n 1)}
		if [ -n "$deb" ] && [ -f "$deb" ]; then
			echo "installing the Vulkan loader from $deb"
			dpkg -x "$deb" / && ldconfig
		else
			echo "WARNING: no libvulkan.so.1 and no libvulkan1 .deb (set VULKAN_DEB)"
		fi
	fi
	ldconfig -p 2>/dev/null | grep 'libvulkan.so.1' || true
	nvidia-smi 2>&1 || true
} >"$OUT/env.txt" 2>&1
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
echo "VK_DRIVER_FILES=$VK_DRIVER_FILES" >>"$OUT/env.txt"
export CATSYNTH_REQUIRE_GPU=1
unset CATSYNTH_GPU_VARIANT

# gotest runs the nn/gpu tests with test-binary flags (-test.run ...), from the
# prebuilt binary when there is one, else through `go test`.
gotest() {
	local bin=${GPU_TEST_BIN:-"$bindir/gpu.test"}
	if [ -x "$bin" ]; then
		(cd "$root/nn/gpu" && "$bin" "$@")
	else
		go test ./nn/gpu -args "$@"
	fi
}

step() { # step NAME FILE CMD...: run CMD, log to FILE, remember failures
	local name=$1 file=$2
	shift 2
	echo "== $name -> $file"
	if ! "$@" >"$OUT/$file" 2>&1; then
		failed+=("$name")
		echo "   FAILED (see $OUT/$file)"
	fi
	tail -n 5 "$OUT/$file" | sed 's/^/   /'
}

# --- 1. parity ----------------------------------------------------------------
step parity parity.txt gotest -test.run . -test.v -test.count 1 -test.timeout 10m

# --- 2. benchmarks (autotuned) ------------------------------------------------
benches='MatMul/(1024|4096)$|Conv3x3/B(16|4)_|Conv3x3Grad(Input|Weight)/B16_C256'
step bench bench.txt gotest -test.run '^$' -test.bench "$benches" -test.benchtime "$BENCHTIME" -test.timeout 20m

# --- 3. benchmarks per forced variant -----------------------------------------
variants=$(sed -n '/^var gemmVariants/,/^}/p' nn/gpu/matmul.go | grep -o '"v[0-9]*"' | tr -d '"')
vbench() {
	local v
	for v in $variants; do
		echo "--- CATSYNTH_GPU_VARIANT=$v"
		CATSYNTH_GPU_VARIANT=$v gotest -test.run '^$' -test.bench 'MatMul/(1024|4096)$|Conv3x3/B16_C256' \
			-test.benchtime 5x -test.timeout 10m || return 1
	done
}
step variants bench-variants.txt vbench

# --- 4. PyTorch peer ------------------------------------------------------------
step torch torch.txt python3 "$root/scripts/torch_kernels.py"

# --- 5-7. the GAN generator beside PyTorch ----------------------------------------
gantest() { # like gotest, for models/gan (its prebuilt binary is gpu-check-bin/gan.test)
	local bin=${GAN_TEST_BIN:-"$bindir/gan.test"}
	if [ -x "$bin" ]; then
		(cd "$root/models/gan" && "$bin" "$@")
	else
		go test ./models/gan -args "$@"
	fi
}
gan_bench() { CATSYNTH_BACKEND=gpu gantest -test.run '^$' -test.bench 'Generate|TrainStep' -test.benchtime "$BENCHTIME" -test.timeout 20m; }
gan_parity() { CATSYNTH_TORCH_PYTHON=python3 gantest -test.run TestTorchParity -test.v -test.count 1; }
step gan-bench gan-bench.txt gan_bench
step torch-gan torch-gan.txt python3 "$root/scripts/torch_oasis_generator.py"
step gan-parity gan-parity.txt gan_parity

# --- 8-9. the diffusion U-Net beside PyTorch -------------------------------------
diftest() { # like gotest, for models/diffusion (gpu-check-bin/diffusion.test)
	local bin=${DIFFUSION_TEST_BIN:-"$bindir/diffusion.test"}
	if [ -x "$bin" ]; then
		(cd "$root/models/diffusion" && "$bin" "$@")
	else
		go test ./models/diffusion -args "$@"
	fi
}
dif_bench() {
	diftest -test.run 'GPU' -test.v -test.count 1 || return 1
	CATSYNTH_BACKEND=gpu diftest -test.run '^$' -test.bench 'UNetForward32pxGuided|UNetForward64px|Sample32px' -test.benchtime "$BENCHTIME" -test.timeout 20m
}
torch_dif() {
	local cfg
	cfg=$(grep -o 'config {.*}' "$OUT/diffusion-bench.txt" | head -n 1 | cut -d' ' -f2-)
	[ -n "$cfg" ] || { echo "no config line in diffusion-bench.txt"; return 1; }
	python3 "$root/scripts/torch_sdm_unet.py" --bench --config "$cfg" --device cuda
}
step diffusion-bench diffusion-bench.txt dif_bench
step torch-diffusion torch-diffusion.txt torch_dif

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "gpu-check: FAILED steps: ${failed[*]} (results in $OUT)"
	exit 1
fi
echo "gpu-check: all steps passed (results in $OUT)"
