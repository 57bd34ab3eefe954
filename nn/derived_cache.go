package nn

// derivedCache holds a tensor computed from other tensors (an eval-mode
// weight: SpectralNorm's weight_orig / sigma, SPADE's joint gamma/beta
// weight), kept until the Version of a source or of the cache itself, or a
// source's shape, differs from what it was computed from. Every in-place
// write in package nn renews a Version (see Tensor.Version), so a stale
// value is never returned. The tensor is unscoped and owned by the cache.
type derivedCache struct {
	t        *Tensor
	versions []uint64 // the sources', then the cache's own
	shapes   [][]int  // the sources'
}

// get returns a view of the derived tensor of shape, calling fill to
// (re)compute it into dst when it is missing or stale. A returned view is a
// snapshot: while one from an earlier call is alive, a recomputation goes
// to a new buffer rather than overwriting it.
func (c *derivedCache) get(shape []int, sources []*Tensor, fill func(dst *Tensor)) *Tensor {
	d := sources[0].dev
	for _, t := range sources {
		t.buf() // panics on a released tensor, as the uncached path does
	}
	if c.t == nil || !c.fresh(sources) {
		if t := c.t; t != nil && (t.st.refs > 1 || t.dev != d || !sameShape(t.shape, shape)) {
			// a view handed out earlier is alive (leave its values alone),
			// or the cache no longer fits
			c.release()
		}
		if c.t == nil {
			c.t = d.allocUnscoped(shape)
		}
		fill(c.t)
		c.record(sources)
	}
	return d.view(c.t, c.t.shape)
}

func (c *derivedCache) fresh(sources []*Tensor) bool {
	if len(c.versions) != len(sources)+1 || c.versions[len(sources)] != c.t.Version() {
		return false
	}
	for i, t := range sources {
		if c.versions[i] != t.Version() || !sameShape(c.shapes[i], t.shape) {
			return false
		}
	}
	return true
}

func (c *derivedCache) record(sources []*Tensor) {
	c.versions, c.shapes = c.versions[:0], c.shapes[:0]
	for _, t := range sources {
		c.versions = append(c.versions, t.Version())
		c.shapes = append(c.shapes, t.shape)
	}
	c.versions = append(c.versions, c.t.Version())
}

// release frees the cached tensor (views handed out stay valid until
// released); the next get computes it again.
func (c *derivedCache) release() {
	if c.t != nil {
		c.t.Release()
		c.t = nil
	}
}
