//go:build js

// Command wasm is the browser build of catsynth (GOOS=js GOARCH=wasm): it
// registers the JavaScript API as the global object `catsynth` and then
// keeps running so that the page can call it.
//
// Build and serve it by hand:
//
//	GOOS=js GOARCH=wasm go build -o public/catsynth.wasm ./wasm
//	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" public/
//	python3 -m http.server -d public 8000   # open /dev/parity.html
//
// The page keeps the instantiate result as globalThis.wasm, which the WebGPU
// binding's own write calls read (nn/gpu writes buffers without them: see
// writeBuffer in nn/gpu/device_js.go).
//
// Every API function returns a Promise and does its work on a new goroutine:
// WebGPU calls (adapter, device, buffer mapping) block the calling goroutine
// until their JS promise settles, which would deadlock inside the js.FuncOf
// callback itself.
package main

import (
	"fmt"
	"syscall/js"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("runParity", js.FuncOf(runParity))
	registerApp(api) // the page's API: app_js.go
	js.Global().Set("catsynth", api)
	select {} // keep the exported functions alive
}

// await blocks the calling goroutine (never a js.FuncOf callback) until
// the promise p settles, and returns its value or its rejection as an error.
func await(p js.Value) (js.Value, error) {
	type settled struct {
		v   js.Value
		err error
	}
	ch := make(chan settled, 1)
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{v: args[0]}
		return nil
	})
	defer onOK.Release()
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{err: fmt.Errorf("%s", args[0].Call("toString").String())}
		return nil
	})
	defer onErr.Release()
	p.Call("then", onOK, onErr)
	s := <-ch
	return s.v, s.err
}

// async runs f on a new goroutine and returns a Promise of its result: a
// string on success, an Error with err's text on failure. A panic in f
// rejects the promise too instead of killing the program.
func async(f func() (string, error)) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			var (
				s   string
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				s, err = f()
			}()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(s)
		}()
		return nil
	})
	defer executor.Release() // the Promise constructor calls it synchronously
	return js.Global().Get("Promise").New(executor)
}
