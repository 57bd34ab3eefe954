package backend

import (
	"math"
	"strings"
	"testing"
)

// TestUnariesDeclared: every UnaryOp has every part of its declaration,
// a unique name, and a gradient rule that agrees with central differences
// of its value at its test arguments (away from kinks).
func TestUnariesDeclared(t *testing.T) {
	seen := map[string]bool{}
	for op, d := range Unaries {
		if d.Name == "" || d.F == nil || d.D == nil || d.WGSL == "" || d.WGSLGrad == "" || len(d.TestArgs) == 0 || d.Kinks == nil {
			t.Errorf("unary op %d is not fully declared: %+v", op, d)
			continue
		}
		if seen[d.Name] || UnaryOp(op).String() != d.Name {
			t.Errorf("unary op %d: name %q repeated or not its String", op, d.Name)
		}
		seen[d.Name] = true
		if strings.Contains(d.WGSL, ";") || strings.Contains(d.WGSLGrad, ";") {
			t.Errorf("%s: WGSL must be expressions, not statements", d.Name)
		}
		for _, a := range d.TestArgs {
			xs := map[Domain][]float64{AnyReal: {-2.3, -0.7, 0.45, 1.9}, Positive: {0.3, 1.1, 2.7}, NonZero: {-1.7, 0.6, 2.2}}[d.Domain]
			for _, x := range xs {
				const h = 1e-6
				fd := (d.F(x+h, a) - d.F(x-h, a)) / (2 * h)
				if g := d.D(x, d.F(x, a), a); math.Abs(g-fd) > 1e-5*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s(%v) at %g: derivative %g, finite differences %g", d.Name, a, x, g, fd)
				}
			}
		}
	}
}
