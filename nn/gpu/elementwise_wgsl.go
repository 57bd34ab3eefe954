package gpu

import (
	"fmt"
	"strings"
	"sync"

	"catsynth/nn/backend"
	"catsynth/shaders"
)

// Generated WGSL. A shaders/ file may hold slot lines `{{name}}`, each filled
// here from Go before compiling: the op switches of elementwise.wgsl come
// from the op tables in nn/backend, so an op's number in WGSL is its Go
// constant by construction and an op is declared in one place.
var generators = map[string]map[string]func() string{
	"elementwise.wgsl": {
		"unary_f":  func() string { return unaryCases(func(d *backend.UnaryDef) string { return d.WGSL }) },
		"unary_df": func() string { return unaryCases(func(d *backend.UnaryDef) string { return d.WGSLGrad }) },
		"binary_f": binaryCases,
		"tanh_fn":  func() string { return tanhWGSL },
	},
	"epilogue_act.wgsl": {"tanh_fn": func() string { return tanhWGSL }},
}

// tanhWGSL is the tanh of the element-wise ops and of the conv epilogue, one
// definition for both: the built-in tanh overflows to NaN for large |x| on
// some drivers and loses relative precision near 0.
const tanhWGSL = `fn tanh_(x: f32) -> f32 {
    let a = abs(x);
    if (a < 0.0625) {
        let x2 = x * x;
        return x * (1.0 + x2 * (-0.33333333 + x2 * 0.13333333));
    }
    let t = exp(-2.0 * a);
    return sign(x) * (1.0 - t) / (1.0 + t);
}`

var sources sync.Map // file name -> generated source

// slotLine parses a slot line: `{{name}}` alone on its line, indented by
// spaces or tabs (the indent is kept for every generated line). The
// packages use no regexp: it would add a quarter megabyte to the page's
// wasm.
func slotLine(line string) (indent, name string, ok bool) {
	body := strings.TrimLeft(line, " \t")
	indent = line[:len(line)-len(body)]
	body = strings.TrimRight(body, " \t")
	inner, ok := strings.CutPrefix(body, "{{")
	if !ok {
		return "", "", false
	}
	if inner, ok = strings.CutSuffix(inner, "}}"); !ok || !isWord(inner) {
		return "", "", false
	}
	return indent, inner, true
}

// isWord reports whether s is a non-empty run of letters, digits and
// underscores.
func isWord(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// source returns shaders/file with its slots filled. It panics on a slot
// without a generator and on a generator without a slot: both are
// programmer errors of this package and the shaders.
func source(file string) string {
	if s, ok := sources.Load(file); ok {
		return s.(string)
	}
	gens := generators[file]
	used := map[string]bool{}
	var out strings.Builder
	for line := range strings.Lines(shaders.Source(file)) {
		text, nl := strings.CutSuffix(line, "\n")
		indent, name, ok := slotLine(text)
		if !ok {
			out.WriteString(line)
			continue
		}
		gen, ok := gens[name]
		if !ok {
			panic(fmt.Sprintf("gpu: %s: no generator for slot {{%s}}", file, name))
		}
		used[name] = true
		var sb strings.Builder
		for l := range strings.Lines(gen()) {
			sb.WriteString(indent + l)
		}
		out.WriteString(strings.TrimRight(sb.String(), "\n"))
		if nl {
			out.WriteString("\n")
		}
	}
	for name := range gens {
		if !used[name] {
			panic(fmt.Sprintf("gpu: %s has no slot {{%s}}", file, name))
		}
	}
	sources.Store(file, out.String())
	return out.String()
}

// unaryCases is one `case` per unary op returning expr(def).
func unaryCases(expr func(*backend.UnaryDef) string) string {
	var sb strings.Builder
	for op := range backend.NumUnaryOps {
		fmt.Fprintf(&sb, "case %du: { return %s; } // %s\n", int(op), expr(op.Def()), op)
	}
	return sb.String()
}

func binaryCases() string {
	var sb strings.Builder
	for op := range backend.NumBinaryOps {
		fmt.Fprintf(&sb, "case %du: { return %s; } // %s\n", int(op), op.Def().WGSL, op)
	}
	return sb.String()
}
