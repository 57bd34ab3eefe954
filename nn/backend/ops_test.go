package backend

import "testing"

// TestOpTablesComplete fails when an op lacks any part of its declaration:
// a zero entry in unaryDefs or binaryDefs means a constant was added
// without its table entry.
func TestOpTablesComplete(t *testing.T) {
	names := map[string]bool{}
	for op := UnaryOp(0); op < NumUnaryOps; op++ {
		d := op.Def()
		for part, missing := range map[string]bool{
			"Name": d.Name == "", "Eval (CPU kernel)": d.Eval == nil, "Grad (CPU gradient)": d.Grad == nil,
			"Ref (float64 reference)": d.Ref == nil, "WGSL": d.WGSL == "", "WGSLGrad": d.WGSLGrad == "",
			"Test domain (Lo < Hi)": !(d.Test.Lo < d.Test.Hi),
		} {
			if missing {
				t.Errorf("unary op %d (%q) has no %s", int(op), d.Name, part)
			}
		}
		if names[d.Name] {
			t.Errorf("unary op %d: name %q used twice", int(op), d.Name)
		}
		names[d.Name] = true
	}
	names = map[string]bool{}
	for op := BinaryOp(0); op < NumBinaryOps; op++ {
		d := op.Def()
		for part, missing := range map[string]bool{
			"Name": d.Name == "", "Eval (CPU kernel)": d.Eval == nil, "Ref (float64 reference)": d.Ref == nil,
			"WGSL": d.WGSL == "",
		} {
			if missing {
				t.Errorf("binary op %d (%q) has no %s", int(op), d.Name, part)
			}
		}
		if names[d.Name] {
			t.Errorf("binary op %d: name %q used twice", int(op), d.Name)
		}
		names[d.Name] = true
	}
}

// TestOpKernelsMatchReferences runs each CPU kernel on a few points of its
// test domain against the float64 reference, so a table entry is checked
// where it is written (the conformance suite checks it in depth).
func TestOpKernelsMatchReferences(t *testing.T) {
	for op := UnaryOp(0); op < NumUnaryOps; op++ {
		d := op.Def()
		args := d.Test.Args
		if len(args) == 0 {
			args = []Args{{}}
		}
		x := []float32{float32(d.Test.Lo + 0.3), float32((d.Test.Lo + d.Test.Hi) / 3), float32(d.Test.Hi - 0.1)}
		for _, a := range args {
			y := make([]float32, len(x))
			d.Eval(y, x, a)
			for i, v := range x {
				want := d.Ref(float64(v), a)
				if diff := float64(y[i]) - want; diff*diff > 1e-10*(want*want+1) {
					t.Errorf("%s(%v) with %+v = %v, reference %v", op, v, a, y[i], want)
				}
			}
		}
	}
	for op := BinaryOp(0); op < NumBinaryOps; op++ {
		d := op.Def()
		a, b := []float32{1.5, -2, 0.75}, []float32{-0.5, 4, 3}
		for _, strided := range []bool{false, true} {
			y := make([]float32, 3)
			if strided { // b read with stride 2 from a padded copy
				d.Eval(y, a, 1, []float32{b[0], 9, b[1], 9, b[2]}, 2)
			} else {
				d.Eval(y, a, 1, b, 1)
			}
			for i := range y {
				if want := d.Ref(float64(a[i]), float64(b[i])); float64(y[i]) != float64(float32(want)) {
					t.Errorf("%s(%v, %v) = %v (strided %v), reference %v", op, a[i], b[i], y[i], strided, want)
				}
			}
		}
	}
}

func TestOpStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Gelu.String(), "gelu"}, {LeakyRelu.String(), "leaky_relu"}, {NumUnaryOps.String(), "UnaryOp(16)"},
		{Div.String(), "div"}, {BinaryOp(-1).String(), "BinaryOp(-1)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
