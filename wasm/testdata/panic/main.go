//go:build js

// Command panic is a wasm program that panics at once: wasm/browser_test.go
// loads it into public/dev/parity.html to check that the page reports a
// dead Go program instead of leaving the test to time out.
package main

func main() {
	panic("boom from wasm")
}
