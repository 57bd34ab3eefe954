//go:build js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"runtime/debug"
	"sync"
	"syscall/js"
	"time"

	"catsynth/app"
	"catsynth/models"
	_ "catsynth/models/all"
	"catsynth/nn"
)

// The page's API (see public/worker.js, which runs this wasm in a dedicated
// worker so that no step blocks the page). Every function but stop returns
// a Promise and runs on its own goroutine; calls are serialised by mu.
// Values cross as plain objects (JSON), label maps and images as
// Uint8Arrays (labels: H*W class bytes, 255 = none; images: H*W*4 RGBA).
//
//	open({backend: "auto"|"gpu"|"cpu"}) -> {backend, fallback, limit, software (no GPU does the work)}
//	loadModel(bytes, name)              -> ModelInfo
//	generate(labels, seed, onProgress)  -> {rgba, width, height, ms} (diffusion: onProgress gets {step, steps, preview} each step; stop() cancels)
//	setSampling({steps, guidance, eta}) -> ModelInfo (diffusion models' sampler settings)
//	examples(n)                         -> [{name, labels}]
//	decodeLabelPNG(bytes, name)         -> labels;  encodeLabelPNG(labels) -> bytes
//	addTargetFiles([{name, data}])      -> TargetInfo;  setTargetNames([..]) -> TargetInfo
//	clearTarget()                       -> TargetInfo
//	hasAsset(kind) -> bool;  loadAsset(kind, bytes, name)  (estimator inputs, app.Kind*)
//	estimate(method)                    -> MatrixInfo (text|vision|seg|combined)
//	setAffinity(rows, method)           -> MatrixInfo
//	getAffinity()                       -> MatrixInfo or null
//	setAdapted(bool)                    -> ModelInfo
//	finetune(config, onProgress)        -> FinetuneResult (onProgress gets {step, steps, loss, msPerStep, etaMs, preview})
//	stop()                              (synchronous: ends a finetune after its step)
//	saveAdapted()                       -> bytes
var (
	mu   sync.Mutex
	dev  *nn.Device
	sess *app.Session
)

func registerApp(api js.Value) {
	fns := map[string]func(args []js.Value) (any, error){
		"open": appOpen,
		"loadModel": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return sess.LoadModel(bytesArg(a, 0), strArg(a, 1)) })
		},
		"info":     func(a []js.Value) (any, error) { return sessOr(func() (any, error) { return sess.Info(), nil }) },
		"generate": appGenerate,
		"setSampling": func(a []js.Value) (any, error) {
			var v models.Sampling
			if err := jsonArg(a, 0, &v); err != nil {
				return nil, err
			}
			return sessOr(func() (any, error) { return sess.SetSampling(v) })
		},
		"examples": appExamples,
		"decodeLabelPNG": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return wrapBytes(sess.DecodeLabelPNG(bytesArg(a, 0), strArg(a, 1))) })
		},
		"encodeLabelPNG": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return wrapBytes(sess.EncodeLabelPNG(bytesArg(a, 0))) })
		},
		"addTargetFiles": appAddTargetFiles,
		"setTargetNames": func(a []js.Value) (any, error) {
			var names []string
			if err := jsonArg(a, 0, &names); err != nil {
				return nil, err
			}
			return sessOr(func() (any, error) { return sess.SetTargetNames(names) })
		},
		"clearTarget": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { sess.ClearTarget(); return sess.TargetInfo(), nil })
		},
		"hasAsset": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return sess.HasAsset(strArg(a, 0)), nil })
		},
		"loadAsset": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return nil, sess.LoadAsset(strArg(a, 0), bytesArg(a, 1), strArg(a, 2)) })
		},
		"estimate": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return sess.Estimate(strArg(a, 0)) })
		},
		"setAffinity": func(a []js.Value) (any, error) {
			var rows [][]float64
			if err := jsonArg(a, 0, &rows); err != nil {
				return nil, err
			}
			return sessOr(func() (any, error) { return sess.SetAffinity(rows, strArg(a, 1)) })
		},
		"setAdapted": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return sess.SetAdapted(len(a) > 0 && a[0].Truthy()) })
		},
		"getAffinity": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) {
				if m, ok := sess.Affinity(); ok {
					return m, nil
				}
				return nil, nil
			})
		},
		"finetune": appFinetune,
		"saveAdapted": func(a []js.Value) (any, error) {
			return sessOr(func() (any, error) { return wrapBytes(sess.SaveAdapted()) })
		},
	}
	for name, f := range fns {
		api.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
			return promise(name, func() (any, error) { return f(args) })
		}))
	}
	// stop must not wait for mu: the finetune holds it.
	api.Set("stop", js.FuncOf(func(js.Value, []js.Value) any {
		if s := sess; s != nil {
			s.Stop()
		}
		return nil
	}))
}

// jsBytes marks a result to hand over as a Uint8Array.
type jsBytes []byte

func wrapBytes(b []byte, err error) (any, error) { return jsBytes(b), err }

// sessOr runs f under mu when a session is open.
func sessOr(f func() (any, error)) (any, error) {
	mu.Lock()
	defer mu.Unlock()
	if sess == nil {
		return nil, fmt.Errorf("no device is open: call open() first")
	}
	return f()
}

func appOpen(a []js.Value) (any, error) {
	name := "auto"
	if len(a) > 0 && a[0].Type() == js.TypeObject && a[0].Get("backend").Type() == js.TypeString {
		name = a[0].Get("backend").String()
	}
	if name != "auto" && name != "gpu" && name != "cpu" {
		return nil, fmt.Errorf("open: unknown backend %q (want auto, gpu or cpu)", name)
	}
	mu.Lock()
	defer mu.Unlock()
	if sess != nil {
		sess.Release()
		sess = nil
	}
	if dev != nil {
		// The page reopens after a device loss or on "Restart engine":
		// free the old device's memory now (its loss is not reported,
		// worker.js having stopped watching it).
		dev.Close()
		dev = nil
	}
	d, err := nn.Open(name)
	if err != nil {
		return nil, err
	}
	dev = d
	var limit int64
	if d.FallbackReason() == "" && name != "cpu" {
		limit = app.DefaultBindingLimit
	}
	sess = app.NewSession(d, limit)
	sw, _ := d.Backend().(interface{ Software() bool })
	software := d.FallbackReason() != "" || name == "cpu" || (sw != nil && sw.Software())
	return map[string]any{"backend": d.Name(), "fallback": d.FallbackReason(), "limit": limit, "software": software}, nil
}

func appGenerate(a []js.Value) (any, error) {
	labels := bytesArg(a, 0)
	seed, err := seedArg(a, 1)
	if err != nil {
		return nil, err
	}
	onProgress := js.Undefined()
	if len(a) > 2 && a[2].Type() == js.TypeFunction {
		onProgress = a[2]
	}
	return sessOr(func() (any, error) {
		var progress func(step, steps int, preview *image.RGBA)
		if !onProgress.IsUndefined() {
			progress = func(step, steps int, preview *image.RGBA) {
				v := toJS(map[string]any{"step": step, "steps": steps})
				if preview != nil {
					v.Set("preview", toJS(jsBytes(preview.Pix)))
				}
				onProgress.Invoke(v)
				time.Sleep(time.Millisecond) // let a stop message in
			}
		}
		img, d, err := sess.GenerateProgress(labels, seed, progress)
		if err != nil {
			return nil, err
		}
		b := img.Bounds()
		return map[string]any{"rgba": jsBytes(img.Pix), "width": b.Dx(), "height": b.Dy(),
			"ms": float64(d.Microseconds()) / 1000, "seed": float64(seed)}, nil
	})
}

func appExamples(a []js.Value) (any, error) {
	n := 4
	if len(a) > 0 && a[0].Type() == js.TypeNumber {
		n = max(1, min(a[0].Int(), 16))
	}
	return sessOr(func() (any, error) {
		ex, err := sess.Examples(n)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(ex))
		for i, e := range ex {
			out[i] = map[string]any{"name": e.Name, "labels": jsBytes(e.Labels)}
		}
		return out, nil
	})
}

func appAddTargetFiles(a []js.Value) (any, error) {
	if len(a) == 0 || a[0].Type() != js.TypeObject {
		return nil, fmt.Errorf("addTargetFiles: want an array of {name, data}")
	}
	var files []app.File
	for i := range a[0].Length() {
		f := a[0].Index(i)
		files = append(files, app.File{Name: f.Get("name").String(), Data: bytesOf(f.Get("data"))})
	}
	return sessOr(func() (any, error) { return sess.AddTargetFiles(files) })
}

func appFinetune(a []js.Value) (any, error) {
	var cfg app.FinetuneConfig
	if err := jsonArg(a, 0, &cfg); err != nil {
		return nil, err
	}
	onProgress := js.Undefined()
	if len(a) > 1 && a[1].Type() == js.TypeFunction {
		onProgress = a[1]
	}
	return sessOr(func() (any, error) {
		return sess.Finetune(context.Background(), cfg, func(p app.Progress) {
			if onProgress.IsUndefined() {
				return
			}
			v := toJS(p)
			if p.Preview != nil {
				v.Set("preview", toJS(jsBytes(p.Preview.Pix)))
			}
			onProgress.Invoke(v)
			// Let the worker's event loop run (a stop message, progress
			// delivery) between steps.
			time.Sleep(time.Millisecond)
		})
	})
}

// promise runs f on a new goroutine and returns a Promise of its result
// (converted by toJS); an error or a panic rejects it with an Error.
func promise(name string, f func() (any, error)) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			var (
				v   any
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic in %s: %v\n%s", name, p, debug.Stack())
					}
				}()
				v, err = f()
			}()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(toJS(v))
		}()
		return nil
	})
	defer executor.Release()
	return js.Global().Get("Promise").New(executor)
}

// toJS converts a result: jsBytes to a Uint8Array, maps and slices
// elementwise (so that nested jsBytes convert), anything else through JSON.
func toJS(v any) js.Value {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case jsBytes:
		u := js.Global().Get("Uint8Array").New(len(x))
		js.CopyBytesToJS(u, x)
		return u
	case map[string]any:
		o := js.Global().Get("Object").New()
		for k, e := range x {
			o.Set(k, toJS(e))
		}
		return o
	case []any:
		arr := js.Global().Get("Array").New(len(x))
		for i, e := range x {
			arr.SetIndex(i, toJS(e))
		}
		return arr
	case string, bool, int, float64, int64:
		return js.ValueOf(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("toJS: %T: %v", v, err))
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

func bytesOf(v js.Value) []byte {
	if v.IsUndefined() || v.IsNull() {
		return nil
	}
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b
}

func bytesArg(a []js.Value, i int) []byte {
	if i >= len(a) {
		return nil
	}
	return bytesOf(a[i])
}

func strArg(a []js.Value, i int) string {
	if i >= len(a) || a[i].Type() != js.TypeString {
		return ""
	}
	return a[i].String()
}

func seedArg(a []js.Value, i int) (uint64, error) {
	if i >= len(a) || a[i].Type() != js.TypeNumber {
		return 0, fmt.Errorf("seed must be a number")
	}
	f := a[i].Float()
	if f < 0 || f >= 1<<53 || f != float64(uint64(f)) {
		return 0, fmt.Errorf("seed %v is not an integer in [0, 2^53)", f)
	}
	return uint64(f), nil
}

// jsonArg decodes argument i (any JS value) through JSON into dst.
func jsonArg(a []js.Value, i int, dst any) error {
	if i >= len(a) || a[i].IsUndefined() || a[i].IsNull() {
		return nil
	}
	s := js.Global().Get("JSON").Call("stringify", a[i]).String()
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("bad argument: %v", err)
	}
	return nil
}
