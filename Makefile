# catsynth — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/catsynth
# System packages the tests need: lavapipe (a CPU Vulkan driver) for the native WebGPU
# tests and Chromium for the browser tests; the desktop app (Gio, cgo) builds against the
# Wayland/X11/EGL/Vulkan headers, and xvfb with imagemagick runs and screenshots it
# without a display.
SYSTEM_PACKAGES := mesa-vulkan-drivers libvulkan1 chromium \
	libwayland-dev libx11-dev libx11-xcb-dev libxkbcommon-x11-dev libgles2-mesa-dev \
	libegl1-mesa-dev libffi-dev libxcursor-dev libvulkan-dev xvfb imagemagick

.PHONY: run desktop test build deps wasm bench bench-peers bench-transfer bench-transfer-128 bench-transfer-diffusion vet clean loadtest fuzz kill-test

## run: the web app on the embedded default model, on http://127.0.0.1:8080 (the URL is
## printed); the page is built into the binary
run: build
	$(BIN) serve --addr 127.0.0.1:8080

## desktop: the desktop app (cmd/catview) on the embedded default model
desktop: deps
	$(GO) run ./cmd/catview

## build: the catsynth binary in bin/, with the web page (and its wasm) built into it
build: wasm
	$(GO) build -o $(BIN) ./cmd/catsynth

## wasm: the browser build of catsynth into public/ (with Go's wasm_exec.js), without the
## symbol tables (-s -w: Go's wasm stack traces do not use them), and its Brotli copy
## catsynth.wasm.br for browsers that accept br (best level: about a minute when the wasm changed)
wasm:
	GOOS=js GOARCH=wasm $(GO) build -ldflags="-s -w" -trimpath -o public/catsynth.wasm ./wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" public/
	$(GO) run ./internal/cmd/precompress public/catsynth.wasm

## deps: install the system packages the tests need, when missing (apt-get, as root)
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing (run: sudo make deps)"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## test: every test; GPU tests run on lavapipe and must find an adapter. The nn
## op suite (forward values and gradients) runs a second time on the GPU backend.
test: deps vet
	CATSYNTH_REQUIRE_GPU=1 $(GO) test -timeout 20m ./...
	CATSYNTH_REQUIRE_GPU=1 CATSYNTH_TEST_BACKEND=gpu $(GO) test -timeout 10m ./nn/

## vet: go vet natively (the desktop app needs the deps' headers to build) and for the browser build; gofmt must have nothing to say
vet: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./nn/... ./wasm/... ./webapp/... ./app/... ./models/...

## loadtest: wrk against `catsynth serve` on loopback (page, wasm cold and warm, a model
## file; 200 connections, 20 s each; needs wrk); numbers go to docs/RELIABILITY.md by hand
loadtest: build
	scripts/loadtest.sh $(BIN)

## bench: the Go benchmarks of the engine (numbers go to docs/BENCHMARKS.md by hand)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./nn/...

## bench-peers: catsynth's CPU benchmarks beside numpy/OpenBLAS and PyTorch, interleaved, into
## docs/benchmarks/peers-DATE.md (PEERS_ARGS=--quick: one alternation, 13 min on 2 shared cores;
## the full run, three alternations and FID at n=5000, takes several times that)
bench-peers:
	scripts/bench-peers.sh $(PEERS_ARGS)

## bench-transfer: the class-affinity-transfer benchmark of docs/TRANSFER.md at 32 px, issue 14's
## protocol (three domains, three seeds, 100 held-out maps); about 1 h on 2 CPU cores, resumable
TRANSFER_SOURCE ?= bench-out/tiny32.safetensors.zst
$(TRANSFER_SOURCE):
	$(GO) run ./cmd/catsynth train gan --data synth:source:n=1000,size=32 --preset tiny --norm clade \
	    --size 32 --batch 4 --steps 3000 --seed 1 --out $@
	$(GO) run ./cmd/catsynth affinity prototypes --model $@ --data synth:source:n=64,seed=3,size=32 --n 64
bench-transfer: $(TRANSFER_SOURCE)
	$(GO) run ./cmd/catsynth bench transfer --source $(TRANSFER_SOURCE) --domains coast,street,alpine \
	    --shots 25,100 --steps 400 --seeds 1,2,3 --heldout 100 --seg-steps 800 --out bench-out/transfer --resume

## bench-transfer-128: the benchmark on the shipped 128 px source, three domains, three seeds,
## 100 held-out maps (docs/TRANSFER.md); CPU-days on 2 cores: start it again until it is done
## (it keeps the finished rows), or add BENCH_FLAGS=--backend=gpu
bench-transfer-128:
	$(GO) run ./cmd/catsynth bench transfer --source embedded:source128 --domains coast,street,alpine \
	    --shots 25,100 --steps 400 --seeds 1,2,3 --heldout 100 --seg-steps 800 --out bench-out/transfer128 \
	    --resume $(BENCH_FLAGS)

## bench-transfer-diffusion: the same benchmark on a diffusion source (docs/TRANSFER.md); about
## 1 h on 2 CPU cores once the source exists (its training: hours; or copy a training run's model
## and state here); a stopped run continues where it was (--resume)
DIFFUSION_SOURCE ?= bench-out/diff32/source32.safetensors.zst
$(DIFFUSION_SOURCE):
	$(GO) run ./cmd/catsynth train diffusion --data synth:source:size=32 --preset sdm32 --batch 8 \
	    --lr 2e-4 --ema 0.999 --seed 5 --f16 --steps 5000 --out $@
	$(GO) run ./cmd/catsynth affinity prototypes --model $@ --data synth:source:n=64,seed=3,size=32 --n 64
bench-transfer-diffusion: $(DIFFUSION_SOURCE)
	$(GO) run ./cmd/catsynth bench transfer --source $(DIFFUSION_SOURCE) --domains coast,street \
	    --shots 25 --seeds 1 --rows scratch,finetune,CAT-combined,CAT-combined-trainedA \
	    --steps 200 --heldout 50 --seg-steps 800 --sample-steps 20 --guidance 1.5 --resume \
	    --out bench-out/transfer-diffusion

## fuzz: every fuzz target of the file decoders for FUZZTIME each (default 10m, so
## about 100 min for all); one summary line per target goes to docs/RELIABILITY.md by hand
FUZZTIME ?= 10m
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

## kill-test: the kill-safety test with 60 SIGKILLs of train gan and transfer (make test
## runs it with 12); CATSYNTH_KILL_SEED repeats a run
kill-test:
	CATSYNTH_KILLS=60 $(GO) test -count 1 -timeout 20m -run '^TestKillSafety$$' -v ./cmd/catsynth

clean:
	rm -rf bin
