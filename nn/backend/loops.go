package backend

// The loops of the CPU kernels in the op tables. Each is small enough for
// the compiler to inline into an op's kernel, and the element function
// literal is then inlined into the loop: no call per element.

// each sets d[i] = f(x[i]) in float32.
func each(d, x []float32, f func(v float32) float32) {
	x = x[:len(d)]
	for i, v := range x {
		d[i] = f(v)
	}
}

// each64 sets d[i] = f(x[i]) computed in float64 and rounded once.
func each64(d, x []float32, f func(v float64) float64) {
	x = x[:len(d)]
	for i, v := range x {
		d[i] = float32(f(float64(v)))
	}
}

// eachGrad sets dx[i] = f(x[i], y[i], dy[i]) in float32.
func eachGrad(dx, x, y, dy []float32, f func(x, y, g float32) float32) {
	x, y, dy = x[:len(dx)], y[:len(dx)], dy[:len(dx)]
	for i := range dx {
		dx[i] = f(x[i], y[i], dy[i])
	}
}

// eachGrad64 sets dx[i] = dy[i] * f'(x[i], y[i]) in float64, rounded once.
func eachGrad64(dx, x, y, dy []float32, fp func(x, y float64) float64) {
	x, y, dy = x[:len(dx)], y[:len(dx)], dy[:len(dx)]
	for i := range dx {
		dx[i] = float32(float64(dy[i]) * fp(float64(x[i]), float64(y[i])))
	}
}

// zip sets d[j] = f(a[j], b[j]), a loop without bounds checks.
func zip(d, a, b []float32, f func(x, y float32) float32) {
	a, b = a[:len(d)], b[:len(d)]
	for j := range d {
		d[j] = f(a[j], b[j])
	}
}

// zipStrided sets d[j] = f(a[j*as], b[j*bs]).
func zipStrided(d, a []float32, as int, b []float32, bs int, f func(x, y float32) float32) {
	for j := range d {
		d[j] = f(a[j*as], b[j*bs])
	}
}
