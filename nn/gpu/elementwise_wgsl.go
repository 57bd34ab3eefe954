package gpu

import (
	"fmt"
	"regexp"
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
	},
}

var slotRE = regexp.MustCompile(`(?m)^([ \t]*)\{\{(\w+)\}\}[ \t]*$`)

var sources sync.Map // file name -> generated source

// source returns shaders/file with its slots filled. It panics on a slot
// without a generator and on a generator without a slot: both are
// programmer errors of this package and the shaders.
func source(file string) string {
	if s, ok := sources.Load(file); ok {
		return s.(string)
	}
	gens := generators[file]
	used := map[string]bool{}
	out := slotRE.ReplaceAllStringFunc(shaders.Source(file), func(line string) string {
		m := slotRE.FindStringSubmatch(line)
		gen, ok := gens[m[2]]
		if !ok {
			panic(fmt.Sprintf("gpu: %s: no generator for slot {{%s}}", file, m[2]))
		}
		used[m[2]] = true
		var sb strings.Builder
		for l := range strings.Lines(gen()) {
			sb.WriteString(m[1] + l)
		}
		return strings.TrimRight(sb.String(), "\n")
	})
	for name := range gens {
		if !used[name] {
			panic(fmt.Sprintf("gpu: %s has no slot {{%s}}", file, name))
		}
	}
	sources.Store(file, out)
	return out
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
