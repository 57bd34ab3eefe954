//go:build js

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall/js"
	"time"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
	"catsynth/nn/gpu"
	"catsynth/wasm/parity"
)

// runParity is catsynth.runParity(options) -> Promise<string>: it runs the
// parity cases (package wasm/parity) on a tested backend against the CPU
// backend in this same wasm and resolves with the parity.Report as JSON.
// The promise rejects only on bad options; a missing WebGPU adapter or a
// failing case is reported in the JSON.
//
// options (all optional):
//
//	backend: "gpu" (default: WebGPU through navigator.gpu) or "cpu" (the CPU
//	         backend against itself: checks the wasm plumbing alone)
//	seed:    integer below 2^53; 0 or absent picks one from the clock
//	filter:  run only the cases whose name contains this text
func runParity(_ js.Value, args []js.Value) any {
	return async(func() (string, error) {
		opt := js.Undefined()
		if len(args) > 0 {
			opt = args[0]
		}
		name, filter, seed, err := parityOptions(opt)
		if err != nil {
			return "", err
		}
		var cases []parity.Case
		for _, c := range parity.Cases() {
			if strings.Contains(c.Name, filter) {
				cases = append(cases, c)
			}
		}
		var rep parity.Report
		test, release, err := openBackend(name)
		if err != nil {
			rep = parity.Report{Backend: name, Reference: "cpu", Seed: seed, Error: err.Error(),
				NoDevice: errors.Is(err, gpu.ErrNoAdapter)}
		} else {
			rep = parity.Run(test, cpu.New(), cases, seed)
			release()
		}
		if name == "gpu" {
			rep.Adapter = adapterInfo()
		}
		out, err := json.Marshal(rep)
		return string(out), err
	})
}

// parityOptions reads the options object of runParity.
func parityOptions(opt js.Value) (name, filter string, seed uint64, err error) {
	name = "gpu"
	if opt.IsUndefined() || opt.IsNull() {
		opt = js.Global().Get("Object").New()
	}
	if opt.Type() != js.TypeObject {
		return "", "", 0, fmt.Errorf("runParity: options must be an object, not %s", opt.Type())
	}
	if v := opt.Get("backend"); !v.IsUndefined() {
		name = v.String()
	}
	if name != "gpu" && name != "cpu" {
		return "", "", 0, fmt.Errorf("runParity: unknown backend %q (want \"gpu\" or \"cpu\")", name)
	}
	if v := opt.Get("filter"); !v.IsUndefined() {
		filter = v.String()
	}
	if v := opt.Get("seed"); !v.IsUndefined() && !v.IsNull() {
		f := v.Float()
		if f < 0 || f >= 1<<53 || f != float64(uint64(f)) {
			return "", "", 0, fmt.Errorf("runParity: seed %v is not an integer in [0, 2^53)", f)
		}
		seed = uint64(f)
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano()) & (1<<53 - 1)
	}
	return name, filter, seed, nil
}

// adapterInfo describes the adapter navigator.gpu.requestAdapter() gives,
// from its GPUAdapterInfo ("google swiftshader", "nvidia ampere ..."): the
// WebGPU binding does not expose adapter info on js.
func adapterInfo() string {
	g := js.Global().Get("navigator").Get("gpu")
	if g.IsUndefined() {
		return "none: navigator.gpu is undefined"
	}
	a, err := await(g.Call("requestAdapter"))
	if err != nil {
		return "none: " + err.Error()
	}
	if a.IsNull() || a.IsUndefined() {
		return "none: requestAdapter() returned null"
	}
	info := a.Get("info")
	if info.IsUndefined() {
		return "unknown (no GPUAdapter.info)"
	}
	var parts []string
	for _, k := range []string{"vendor", "architecture", "device", "description"} {
		if v := info.Get(k); v.Type() == js.TypeString && v.String() != "" {
			parts = append(parts, v.String())
		}
	}
	if info.Get("isFallbackAdapter").Truthy() {
		parts = append(parts, "(fallback adapter)")
	}
	return strings.Join(parts, " ")
}

// openBackend opens the backend under test and returns its release func.
func openBackend(name string) (backend.Backend, func(), error) {
	switch name {
	case "cpu":
		return cpu.New(), func() {}, nil
	case "gpu":
		b, err := gpu.New()
		if err != nil {
			return nil, nil, err
		}
		return b, b.Release, nil
	}
	panic("runParity: unchecked backend name " + name)
}
