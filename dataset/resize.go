package dataset

// ResizePlanar resamples c planes of sh x sw values (planar, row-major) to
// h x w bilinearly, with half-pixel centres like PyTorch's
// align_corners=False. The same size returns src itself.
func ResizePlanar(src []float32, c, sh, sw, h, w int) []float32 {
	if sh == h && sw == w {
		return src
	}
	out := make([]float32, c*h*w)
	coord := func(o, in, size int) (int, int, float32) {
		s := (float32(o)+0.5)*float32(in)/float32(size) - 0.5
		s = max(s, 0)
		i0 := min(int(s), in-1)
		i1 := min(i0+1, in-1)
		return i0, i1, s - float32(i0)
	}
	for y := range h {
		y0, y1, fy := coord(y, sh, h)
		for x := range w {
			x0, x1, fx := coord(x, sw, w)
			for k := range c {
				p := src[k*sh*sw:]
				top := p[y0*sw+x0]*(1-fx) + p[y0*sw+x1]*fx
				bot := p[y1*sw+x0]*(1-fx) + p[y1*sw+x1]*fx
				out[(k*h+y)*w+x] = top*(1-fy) + bot*fy
			}
		}
	}
	return out
}
