package gpu

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"catsynth/nn/backend"
)

// TestGeneratedOpSwitches reads the op switches of the generated
// elementwise.wgsl back and checks that case k of each holds the code of the
// Go op numbered k, that every op has a case and that no slot is left. It
// needs no GPU: the generated text is what every adapter compiles.
func TestGeneratedOpSwitches(t *testing.T) {
	src := source("elementwise.wgsl")
	if slotRefRE.MatchString(src) {
		t.Fatal("generated elementwise.wgsl still holds a slot line")
	}
	caseRE := regexp.MustCompile(`^\s*case (\d+)u: \{ return (.*); \} // (\S+)$`)
	// switchCases returns the cases of the switch in function fn, by op number.
	switchCases := func(fn string) map[int][2]string {
		start := strings.Index(src, "fn "+fn+"(")
		if start < 0 {
			t.Fatalf("no function %s", fn)
		}
		body := src[start:]
		body = body[:strings.Index(body, "\n}\n")]
		cases := map[int][2]string{}
		for l := range strings.Lines(body) {
			if m := caseRE.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
				k, _ := strconv.Atoi(m[1])
				if _, dup := cases[k]; dup {
					t.Errorf("%s: case %du twice", fn, k)
				}
				cases[k] = [2]string{m[2], m[3]}
			}
		}
		return cases
	}
	for _, sw := range []struct {
		fn   string
		n    int
		want func(k int) (expr, name string)
	}{
		{"unary_f", int(backend.NumUnaryOps), func(k int) (string, string) {
			op := backend.UnaryOp(k)
			return op.Def().WGSL, op.String()
		}},
		{"unary_df", int(backend.NumUnaryOps), func(k int) (string, string) {
			op := backend.UnaryOp(k)
			return op.Def().WGSLGrad, op.String()
		}},
		{"binary_f", int(backend.NumBinaryOps), func(k int) (string, string) {
			op := backend.BinaryOp(k)
			return op.Def().WGSL, op.String()
		}},
	} {
		cases := switchCases(sw.fn)
		if len(cases) != sw.n {
			t.Errorf("%s: %d cases, want one per Go op (%d)", sw.fn, len(cases), sw.n)
		}
		for k := range sw.n {
			expr, name := sw.want(k)
			if got, ok := cases[k]; !ok || got != [2]string{expr, name} {
				t.Errorf("%s: case %du is %q, want %q for Go op %d (%s)", sw.fn, k, got, expr, k, name)
			}
		}
	}
}
