package seg

import (
	"sync"

	"catsynth/dataset"
)

// cached keeps every loaded sample in memory: synthetic scenes are rendered
// once instead of once per epoch (1000 scenes of 128 px take about 130 MB).
// Samples are shared, so callers must not modify them (the loader does not).
type cached struct {
	dataset.Dataset
	mu    sync.Mutex
	items map[int]*entry
}

type entry struct {
	once sync.Once
	s    *dataset.Sample
	err  error
}

// Cached wraps ds so that each sample is loaded once and then served from
// memory. Safe for concurrent use, as Dataset requires.
func Cached(ds dataset.Dataset) dataset.Dataset {
	return &cached{Dataset: ds, items: map[int]*entry{}}
}

func (c *cached) Load(i int) (*dataset.Sample, error) {
	c.mu.Lock()
	e := c.items[i]
	if e == nil {
		e = &entry{}
		c.items[i] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.s, e.err = c.Dataset.Load(i) })
	return e.s, e.err
}
