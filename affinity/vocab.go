package affinity

import "catsynth/dataset/synth"

// Class vocabularies of the public datasets, from their published label
// definitions (the same lists as package dataset's loaders, which keeps them
// unexported). The GloVe table is built to cover every word of these names.

// ADE20KClasses are the 150 classes of ADE20K (SceneParsing objectInfo150).
var ADE20KClasses = []string{
	"wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
	"cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
	"car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
	"armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
	"base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace",
	"refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway",
	"river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
	"countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
	"bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
	"airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
	"poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool",
	"stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
	"food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
	"screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan",
	"pier", "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
}

// COCOStuffClasses are the 182 classes of COCO-Stuff 164k (things, then stuff).
var COCOStuffClasses = []string{
	// things, COCO ids 1..91
	"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
	"fire hydrant", "street sign", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep",
	"cow", "elephant", "bear", "zebra", "giraffe", "hat", "backpack", "umbrella", "shoe", "eye glasses",
	"handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
	"skateboard", "surfboard", "tennis racket", "bottle", "plate", "wine glass", "cup", "fork", "knife", "spoon",
	"bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
	"cake", "chair", "couch", "potted plant", "bed", "mirror", "dining table", "window", "desk", "toilet",
	"door", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster",
	"sink", "refrigerator", "blender", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
	"hair brush",
	// stuff, ids 92..182
	"banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage", "cardboard", "carpet",
	"ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain", "desk-stuff", "dirt",
	"door-stuff", "fence", "floor-marble", "floor-other", "floor-stone", "floor-tile", "floor-wood", "flower", "fog", "food-other",
	"fruit", "furniture-other", "grass", "gravel", "ground-other", "hill", "house", "leaves", "light", "mat",
	"metal", "mirror-stuff", "moss", "mountain", "mud", "napkin", "net", "paper", "pavement", "pillow",
	"plant-other", "plastic", "platform", "playingfield", "railing", "railroad", "river", "road", "rock", "roof",
	"rug", "salad", "sand", "sea", "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs",
	"stone", "straw", "structural-other", "table", "tent", "textile-other", "towel", "tree", "vegetable", "wall-brick",
	"wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other", "waterdrops", "window-blind", "window-other",
	"wood",
}

// CityscapesClasses are the 19 training classes of Cityscapes (trainId order).
var CityscapesClasses = []string{
	"road",
	"sidewalk",
	"building",
	"wall",
	"fence",
	"pole",
	"traffic light",
	"traffic sign",
	"vegetation",
	"terrain",
	"sky",
	"person",
	"rider",
	"car",
	"truck",
	"bus",
	"train",
	"motorcycle",
	"bicycle",
}

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
