package main

import (
	"fmt"
	"os"

	"catsynth/nn"
)

// openDevice opens the named backend ("cpu", "gpu", "auto", or "" for
// $CATSYNTH_BACKEND, else auto) and says on stderr which one runs and why.
func openDevice(name string) (*nn.Device, error) {
	dev, err := nn.Open(name)
	if err != nil {
		return nil, err
	}
	msg := "backend: " + dev.Name()
	if why := dev.FallbackReason(); why != "" {
		msg += " (no GPU: " + why + ")"
	}
	fmt.Fprintln(os.Stderr, msg)
	return dev, nil
}
