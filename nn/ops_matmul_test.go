package nn

import "testing"

// refMatMul computes op(A) op(B) for one batch item in float64.
func refMatMul(a, b []float32, m, n, k int, ta, tb bool) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				if ta {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if tb {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*n+j] = s
		}
	}
	return c
}

var matmulCases = []struct {
	batchA, batchB []int
	m, n, k        int
	ta, tb         bool
}{
	{nil, nil, 3, 4, 5, false, false},
	{nil, nil, 7, 1, 9, true, false},
	{nil, nil, 5, 6, 3, false, true},
	{nil, nil, 4, 3, 2, true, true},
	{[]int{2}, []int{2}, 3, 5, 4, false, false},
	{[]int{2, 3}, nil, 3, 2, 5, true, false},
	{nil, []int{3}, 2, 3, 4, false, true},
	{[]int{1}, []int{2}, 3, 3, 3, true, true},
}

func matShape(batch []int, r, c int, trans bool) []int {
	if trans {
		r, c = c, r
	}
	return append(append([]int(nil), batch...), r, c)
}

func TestMatMulForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range matmulCases {
		as, bs := matShape(c.batchA, c.m, c.k, c.ta), matShape(c.batchB, c.k, c.n, c.tb)
		a, b := randVals(r, numel(as), -1, 1), randVals(r, numel(bs), -1, 1)
		y := MatMul(dev.FromData(a, as...), dev.FromData(b, bs...), c.ta, c.tb)
		na, nb := numel(c.batchA), numel(c.batchB)
		nbatch := max(na, nb)
		var want []float64
		for i := 0; i < nbatch; i++ {
			ai, bi := i%na*c.m*c.k, i%nb*c.k*c.n
			want = append(want, refMatMul(a[ai:ai+c.m*c.k], b[bi:bi+c.k*c.n], c.m, c.n, c.k, c.ta, c.tb)...)
		}
		assertClose(t, "matmul", mustData(t, y), want, 1e-5, 1e-5)
		if got := y.Shape(); got[len(got)-2] != c.m || got[len(got)-1] != c.n || y.Numel() != nbatch*c.m*c.n {
			t.Errorf("shape %v for case %+v", got, c)
		}
	}
}

func TestMatMulGrad(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range matmulCases {
		as, bs := matShape(c.batchA, c.m, c.k, c.ta), matShape(c.batchB, c.k, c.n, c.tb)
		ta, tb := c.ta, c.tb
		gradcheck(t, "matmul", r, func(xs []*Tensor) *Tensor { return MatMul(xs[0], xs[1], ta, tb) },
			randInput(r, -1, 1, as...), randInput(r, -1, 1, bs...))
	}
}

func TestLinear(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	x, w, b := randVals(r, 2*3*4, -1, 1), randVals(r, 5*4, -1, 1), randVals(r, 5, -1, 1)
	y := Linear(dev.FromData(x, 2, 3, 4), dev.FromData(w, 5, 4), dev.FromData(b, 5))
	if !sameShape(y.Shape(), []int{2, 3, 5}) {
		t.Fatalf("shape %v", y.Shape())
	}
	want := refMatMul(x, w, 6, 5, 4, false, true)
	for i := range want {
		want[i] += float64(b[i%5])
	}
	assertClose(t, "linear", mustData(t, y), want, 1e-5, 1e-5)
	gradcheck(t, "linear", r, func(xs []*Tensor) *Tensor { return Linear(xs[0], xs[1], xs[2]) },
		randInput(r, -1, 1, 2, 3, 4), randInput(r, -1, 1, 5, 4), randInput(r, -1, 1, 5))
}
