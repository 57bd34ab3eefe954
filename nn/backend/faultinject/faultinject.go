// Package faultinject wraps a backend so that it fails the way a lost GPU
// device does: after a set number of downloads every Download and Flush
// returns an error wrapping backend.ErrDeviceLost. It lets tests (and a
// user, through nn's CATSYNTH_FAULT_DEVICE_LOST_AFTER) check that training,
// transfer and generation stop with that error and leave their last
// checkpoint intact, on any machine, without a GPU to unplug.
package faultinject

import (
	"fmt"

	"catsynth/nn/backend"
)

// Backend is a backend that loses its device after LoseAfter downloads.
type Backend struct {
	backend.Backend
	// LoseAfter is the number of downloads that succeed.
	LoseAfter int

	downloads int
	lost      bool
}

// New wraps be; its device is lost at download number loseAfter+1.
func New(be backend.Backend, loseAfter int) *Backend {
	return &Backend{Backend: be, LoseAfter: loseAfter}
}

// Lost reports whether the device is gone.
func (b *Backend) Lost() bool { return b.lost }

func (b *Backend) err() error {
	return fmt.Errorf("%w: %s (fault injected after %d downloads)", backend.ErrDeviceLost, b.Backend.Name(), b.LoseAfter)
}

// Download fails once the device is lost, like a GPU's map of a staging
// buffer after the loss.
func (b *Backend) Download(src backend.Buffer, dst []float32) error {
	if !b.lost && b.downloads >= b.LoseAfter {
		b.lost = true
	}
	if b.lost {
		return b.err()
	}
	b.downloads++
	return b.Backend.Download(src, dst)
}

// Flush fails once the device is lost.
func (b *Backend) Flush() error {
	if b.lost {
		return b.err()
	}
	return b.Backend.Flush()
}

// Release releases the wrapped backend's device resources, if it has any.
func (b *Backend) Release() {
	if r, ok := b.Backend.(interface{ Release() }); ok {
		r.Release()
	}
}

// Software forwards the wrapped backend's answer (false if it has none).
func (b *Backend) Software() bool {
	s, ok := b.Backend.(interface{ Software() bool })
	return ok && s.Software()
}
