package affinity

import (
	"catsynth/dataset"
	"catsynth/dataset/synth"
)

// Class vocabularies of the public datasets (package dataset's tables, the
// ones its loaders use). The GloVe table is built to cover every word of them.
var (
	ADE20KClasses     = dataset.ADE20KClasses()          // 150 classes
	COCOStuffClasses  = dataset.COCOStuffClasses()       // 182 classes
	CityscapesClasses = dataset.CityscapesTrainClasses() // 19 training classes
)

// KnownClassNames returns every class name of the public datasets above and
// of the synthetic domains (package dataset/synth), without duplicates.
func KnownClassNames() []string {
	var all []string
	all = append(all, ADE20KClasses...)
	all = append(all, COCOStuffClasses...)
	all = append(all, CityscapesClasses...)
	for _, d := range synth.Domains() {
		dom, err := synth.Lookup(d)
		if err != nil {
			panic(err) // Domains lists only registered domains
		}
		for _, c := range dom.Classes {
			all = append(all, c.Name)
		}
	}
	return dedupe(all)
}
