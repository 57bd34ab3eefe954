package gpu

import (
	"fmt"
	"regexp"
	"strings"

	"catsynth/nn/backend"
)

// Parts of kernel sources are generated from Go tables, so that an op is
// declared in one place (nn/backend.Unaries) and its WGSL case can never
// carry another op's id: a line `// @generated NAME: ...` in a shaders/
// file is replaced by generatedSections[NAME]() before compiling.
var generatedSections = map[string]func() string{
	"unary_f":  func() string { return unaryCases(func(d backend.UnaryDef) string { return d.WGSL }) },
	"unary_df": func() string { return unaryCases(func(d backend.UnaryDef) string { return d.WGSLGrad }) },
}

var generatedRE = regexp.MustCompile(`(?m)^[ \t]*// @generated (\w+)\b.*$`)

// unaryCases is one `case OPu: { return EXPR; }` line per unary op.
func unaryCases(expr func(backend.UnaryDef) string) string {
	var b strings.Builder
	for op, d := range backend.Unaries {
		fmt.Fprintf(&b, "        case %du: { return %s; } // %s\n", op, expr(d), d.Name)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// generate replaces the @generated lines of a kernel source.
func generate(file, src string) string {
	return generatedRE.ReplaceAllStringFunc(src, func(line string) string {
		name := generatedRE.FindStringSubmatch(line)[1]
		f, ok := generatedSections[name]
		if !ok {
			panic(fmt.Sprintf("gpu: %s: unknown @generated section %q", file, name))
		}
		return f()
	})
}
