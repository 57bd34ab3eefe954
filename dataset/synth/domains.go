package synth

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Class is one class of a domain: its name and the colour of its label in
// colourized maps.
type Class struct {
	Name  string
	Color [3]uint8
}

// SourceClasses are the classes of the source domain, in label order.
var SourceClasses = []string{
	"sky", "cloud", "mountain", "rock", "snow", "tree", "bush", "grass", "flower", "dirt", "sand",
	"water", "sea", "river", "road", "sidewalk", "building", "roof", "window", "fence", "car", "person", "boat",
}

// lookW is one look of a mixture with its weight.
type lookW struct {
	name string
	l    *look
	w    float32
}

// binding says how a scene role is drawn in a domain: with which class label
// and which mixture of looks. w weighs the role in the class's ground-truth
// relation (about the share of the class's pixels the role covers).
type binding struct {
	class uint8
	looks []lookW
	w     float32
}

// bind is the table form of a binding: looks is "name=w name=w".
type bind struct {
	role, class, looks string
	w                  float32
}

// Domain is a family of synthetic scenes with its own class vocabulary.
type Domain struct {
	Name    string
	Classes []Class
	// scene kinds and their probabilities
	kinds   []sceneKind
	kindCum []float32
	roles   map[string]*binding
}

type sceneKind struct {
	name string
	p    float32
	fn   func(s *scene)
}

// needs lists the roles each scene kind paints unconditionally.
var needs = map[string][]string{
	"valley": {"sky", "grass"},
	"coast":  {"sky", "sea"},
	"street": {"sky", "sidewalk"},
}

var domains = map[string]*Domain{}

// Domains lists the domain names: "source" and the target domains.
func Domains() []string {
	var out []string
	for n := range domains {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named domain.
func Lookup(name string) (*Domain, error) {
	d, ok := domains[name]
	if !ok {
		return nil, fmt.Errorf("synth: unknown domain %q (have %s)", name, strings.Join(Domains(), ", "))
	}
	return d, nil
}

// colour of the class labels: the source classes keep one fixed palette so
// maps of different domains read alike.
var classColors = map[string][3]uint8{
	"sky": {70, 130, 180}, "cloud": {200, 220, 240}, "mountain": {120, 90, 140}, "rock": {130, 110, 90},
	"snow": {240, 250, 255}, "tree": {30, 110, 40}, "bush": {110, 150, 50}, "grass": {150, 220, 100},
	"flower": {240, 120, 200}, "dirt": {150, 100, 60}, "sand": {230, 210, 140}, "water": {60, 150, 220},
	"sea": {20, 60, 160}, "river": {80, 180, 200}, "road": {128, 64, 128}, "sidewalk": {244, 35, 232},
	"building": {70, 70, 70}, "roof": {180, 60, 40}, "window": {250, 250, 120}, "fence": {190, 153, 153},
	"car": {0, 0, 142}, "person": {220, 20, 60}, "boat": {255, 160, 0},
	// target classes (street uses the Cityscapes colours)
	"ocean": {20, 60, 160}, "beach": {230, 210, 140}, "cliff": {130, 110, 90}, "palm": {60, 160, 60},
	"scrub": {150, 170, 70}, "yacht": {255, 160, 0}, "swimmer": {220, 20, 60}, "hut": {120, 70, 40},
	"parasol": {255, 60, 200}, "wall": {102, 102, 156}, "pole": {153, 153, 153}, "traffic sign": {220, 220, 0},
	"vegetation": {107, 142, 35}, "terrain": {152, 251, 152}, "rider": {255, 0, 0}, "truck": {0, 0, 70},
	"bus": {0, 60, 100}, "peak": {120, 90, 140}, "glacier": {200, 240, 255}, "scree": {140, 120, 100},
	"forest": {30, 110, 40}, "meadow": {150, 220, 100}, "lake": {60, 150, 220}, "chalet": {150, 80, 50},
	"trail": {170, 120, 70}, "hiker": {220, 20, 60}, "cow": {255, 120, 0},
}

func mustDomain(name string, classes []string, binds []bind, kinds []sceneKind) *Domain {
	d := &Domain{Name: name, roles: map[string]*binding{}, kinds: kinds}
	index := map[string]int{}
	for i, c := range classes {
		index[c] = i
		col, ok := classColors[c]
		if !ok {
			col = fallbackColor(i + 7*len(name))
		}
		d.Classes = append(d.Classes, Class{Name: c, Color: col})
	}
	if len(classes) > 254 {
		panic("synth: too many classes")
	}
	for _, b := range binds {
		ci, ok := index[b.class]
		if !ok {
			panic(fmt.Sprintf("synth: domain %s binds role %s to unknown class %s", name, b.role, b.class))
		}
		bd := &binding{class: uint8(ci), w: b.w}
		if bd.w == 0 {
			bd.w = 1
		}
		for _, f := range strings.Fields(b.looks) {
			n, ws, _ := strings.Cut(f, "=")
			w := float32(1)
			if ws != "" {
				v, err := strconv.ParseFloat(ws, 32)
				if err != nil {
					panic("synth: bad look weight " + f)
				}
				w = float32(v)
			}
			l := sourceLooks[n]
			if l == nil {
				l = novelLooks[n]
			}
			if l == nil {
				panic("synth: unknown look " + n)
			}
			bd.looks = append(bd.looks, lookW{n, l, w})
		}
		d.roles[b.role] = bd
	}
	var acc float32
	for _, k := range kinds {
		for _, r := range needs[k.name] {
			if d.roles[r] == nil {
				panic(fmt.Sprintf("synth: domain %s draws %s scenes but does not bind role %s", name, k.name, r))
			}
		}
		acc += k.p
		d.kindCum = append(d.kindCum, acc)
	}
	for i := range d.kindCum {
		d.kindCum[i] /= acc
	}
	domains[name] = d
	return d
}

func fallbackColor(i int) [3]uint8 {
	h := hash3(int32(i), 7, 99)
	return [3]uint8{uint8(60 + h%180), uint8(60 + (h>>8)%180), uint8(60 + (h>>16)%180)}
}

// Relation is the ground truth of how a target domain's classes relate to
// the source classes: for each target class, weights over source classes that
// sum to 1, or no weights for a class with no source relative. It is derived
// from how the renderer draws each class (which source looks, on how much of
// the class), so it is exact by construction. Affinity estimators must never
// read it: it exists to evaluate them.
type Relation struct {
	Domain        string                        `json:"domain"`
	SourceDomain  string                        `json:"source_domain"`
	SourceClasses []string                      `json:"source_classes"`
	TargetClasses []string                      `json:"target_classes"`
	Weights       map[string]map[string]float64 `json:"weights"`
	// Matrix[t][s] is Weights[target t][source s] in class index order.
	Matrix [][]float64 `json:"matrix"`
	Novel  []string    `json:"novel"`
}

// Relation derives the domain's ground-truth relation to the source domain.
func (d *Domain) Relation() Relation {
	r := Relation{Domain: d.Name, SourceDomain: "source", SourceClasses: SourceClasses,
		Weights: map[string]map[string]float64{}}
	sidx := map[string]int{}
	for i, s := range SourceClasses {
		sidx[s] = i
	}
	acc := make([][]float64, len(d.Classes))
	for i := range acc {
		acc[i] = make([]float64, len(SourceClasses))
	}
	roles := make([]string, 0, len(d.roles))
	for k := range d.roles {
		roles = append(roles, k)
	}
	sort.Strings(roles)
	for _, role := range roles {
		b := d.roles[role]
		var tot float32
		for _, lw := range b.looks {
			tot += lw.w
		}
		for _, lw := range b.looks {
			if si, ok := sidx[lw.name]; ok {
				acc[b.class][si] += float64(b.w * lw.w / tot)
			}
		}
	}
	for ti, c := range d.Classes {
		r.TargetClasses = append(r.TargetClasses, c.Name)
		var sum float64
		for _, v := range acc[ti] {
			sum += v
		}
		row := make([]float64, len(SourceClasses))
		m := map[string]float64{}
		if sum > 0 {
			for si, v := range acc[ti] {
				if v > 0 {
					row[si] = round4(v / sum)
					m[SourceClasses[si]] = row[si]
				}
			}
		} else {
			r.Novel = append(r.Novel, c.Name)
		}
		r.Weights[c.Name] = m
		r.Matrix = append(r.Matrix, row)
	}
	return r
}

func round4(v float64) float64 { return float64(int64(v*1e4+0.5)) / 1e4 }

func init() {
	var sb []bind
	for _, c := range SourceClasses {
		sb = append(sb, bind{c, c, c, 1})
	}
	mustDomain("source", SourceClasses, sb, []sceneKind{
		{"valley", 0.4, valleyScene}, {"coast", 0.3, coastScene}, {"street", 0.3, streetScene},
	})

	mustDomain("coast", []string{"sky", "ocean", "beach", "cliff", "palm", "scrub", "yacht", "swimmer", "hut", "parasol"},
		[]bind{
			{"sky", "sky", "sky=0.8 cloud=0.2", 1},
			{"sea", "ocean", "sea", 1},
			{"sand", "beach", "sand=0.85 dirt=0.15", 1},
			{"rock", "cliff", "rock=0.7 mountain=0.3", 1},
			{"mountain", "cliff", "mountain=0.6 rock=0.4", 0.5},
			{"palm", "palm", "tree=0.6 bush=0.4", 1},
			{"bush", "scrub", "bush=0.6 grass=0.4", 1},
			{"grass", "scrub", "grass=0.7 bush=0.3", 1},
			{"boat", "yacht", "boat", 1},
			{"person", "swimmer", "person", 1},
			{"building", "hut", "building", 0.6},
			{"roof", "hut", "roof", 0.3},
			{"window", "hut", "window", 0.1},
			{"parasol", "parasol", "parasol", 1},
		}, []sceneKind{{"coast", 1, coastScene}})

	mustDomain("street", []string{"road", "sidewalk", "building", "wall", "fence", "pole", "traffic sign",
		"vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus"},
		[]bind{
			{"road", "road", "road", 1},
			{"sidewalk", "sidewalk", "sidewalk", 1},
			{"building", "building", "building", 0.75},
			{"roof", "building", "roof", 0.08},
			{"window", "building", "window", 0.17},
			{"wall", "wall", "building=0.4 rock=0.6", 1},
			{"fence", "fence", "fence", 1},
			{"pole", "pole", "pole", 1},
			{"sign", "traffic sign", "sign", 1},
			{"tree", "vegetation", "tree", 0.6},
			{"bush", "vegetation", "bush", 0.4},
			{"grass", "terrain", "grass=0.6 dirt=0.4", 1},
			{"sky", "sky", "sky=0.9 cloud=0.1", 1},
			{"person", "person", "person", 1},
			{"rider", "rider", "person", 1},
			{"car", "car", "car", 1},
			{"truck", "truck", "car", 1},
			{"bus", "bus", "car", 0.75},
			{"bus.window", "bus", "window", 0.25},
		}, []sceneKind{{"street", 1, streetScene}})

	mustDomain("alpine", []string{"sky", "peak", "glacier", "scree", "forest", "meadow", "lake", "chalet", "trail", "hiker", "cow"},
		[]bind{
			{"sky", "sky", "sky=0.85 cloud=0.15", 1},
			{"mountain", "peak", "mountain=0.7 rock=0.3", 1},
			{"snow", "glacier", "snow=0.8 water=0.2", 1},
			{"rock", "scree", "rock=0.7 dirt=0.3", 1},
			{"tree", "forest", "tree", 0.8},
			{"bush", "forest", "bush", 0.2},
			{"grass", "meadow", "grass", 0.75},
			{"flower", "meadow", "flower", 0.25},
			{"water", "lake", "water=0.8 river=0.2", 1},
			{"building", "chalet", "building", 0.55},
			{"roof", "chalet", "roof", 0.3},
			{"window", "chalet", "window", 0.15},
			{"road", "trail", "dirt=0.7 road=0.3", 1},
			{"person", "hiker", "person", 1},
			{"cow", "cow", "cow", 1},
		}, []sceneKind{{"valley", 1, valleyScene}})
}
