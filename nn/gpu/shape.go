package gpu

// prod is the number of elements of shape (1 for rank 0).
func prod(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// contiguous returns the row-major strides of shape.
func contiguous(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for k := len(shape) - 1; k >= 0; k-- {
		st[k] = s
		s *= shape[k]
	}
	return st
}

// extent is one more than the largest offset reached by shape and strides
// (0 for an empty shape), i.e. the values a strided read needs.
func extent(shape, strides []int) int {
	off := 0
	for k, s := range shape {
		if s == 0 {
			return 0
		}
		if strides[k] > 0 {
			off += (s - 1) * strides[k]
		}
	}
	return off + 1
}

// collapse drops axes of size 1 and merges neighbouring axes k, k+1 where
// every stride set satisfies strides[k] == strides[k+1]*shape[k+1], so that
// kernels decompose fewer dimensions. It returns at least one axis.
func collapse(shape []int, strides ...[]int) ([]int, [][]int) {
	var outShape []int
	outStr := make([][]int, len(strides))
	for k, s := range shape {
		if s == 1 {
			continue
		}
		last := len(outShape) - 1
		merge := last >= 0
		for j := range strides {
			if merge && outStr[j][last] != strides[j][k]*s {
				merge = false
			}
		}
		if merge {
			outShape[last] *= s
			for j := range strides {
				outStr[j][last] = strides[j][k]
			}
			continue
		}
		outShape = append(outShape, s)
		for j := range strides {
			outStr[j] = append(outStr[j], strides[j][k])
		}
	}
	if len(outShape) == 0 {
		outShape = []int{1}
		for j := range strides {
			outStr[j] = []int{0}
		}
	}
	return outShape, outStr
}
