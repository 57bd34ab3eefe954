package dataset

import "slices"

// Class vocabularies of the public datasets, written from their published
// label definitions. Index order is the order of the label files' values
// (after each loader's mapping, see real.go).

// ade20kNames are the 150 classes of the ADE20K scene parsing benchmark
// (ADEChallengeData2016, objectInfo150): file value v in 1..150 is index v-1.
var ade20kNames = []string{
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

// cocoStuffNames are the 182 classes of COCO-Stuff 164k (stuffthingmaps):
// file value v in 0..181 is index v (COCO id v+1). Values 0..90 are things
// (eleven ids unused by COCO: street sign, hat, shoe, eye glasses, plate,
// mirror, window, desk, door, blender, hair brush), 91..181 stuff.
var cocoStuffNames = []string{
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

// cityscapesLabel is one row of the Cityscapes label table (cityscapesScripts
// labels.py): id is the value in *_gtFine_labelIds.png, trainID the index of
// the 19-class benchmark (255 = ignored in training).
type cityscapesLabel struct {
	name    string
	id      int
	trainID int
	color   [3]uint8
}

// cityscapesLabels lists ids 0..33; the 35th label, "license plate", has id
// -1 and never appears as a value in labelIds files (it is stored as void).
var cityscapesLabels = []cityscapesLabel{
	{"unlabeled", 0, 255, [3]uint8{0, 0, 0}},
	{"ego vehicle", 1, 255, [3]uint8{0, 0, 0}},
	{"rectification border", 2, 255, [3]uint8{0, 0, 0}},
	{"out of roi", 3, 255, [3]uint8{0, 0, 0}},
	{"static", 4, 255, [3]uint8{0, 0, 0}},
	{"dynamic", 5, 255, [3]uint8{111, 74, 0}},
	{"ground", 6, 255, [3]uint8{81, 0, 81}},
	{"road", 7, 0, [3]uint8{128, 64, 128}},
	{"sidewalk", 8, 1, [3]uint8{244, 35, 232}},
	{"parking", 9, 255, [3]uint8{250, 170, 160}},
	{"rail track", 10, 255, [3]uint8{230, 150, 140}},
	{"building", 11, 2, [3]uint8{70, 70, 70}},
	{"wall", 12, 3, [3]uint8{102, 102, 156}},
	{"fence", 13, 4, [3]uint8{190, 153, 153}},
	{"guard rail", 14, 255, [3]uint8{180, 165, 180}},
	{"bridge", 15, 255, [3]uint8{150, 100, 100}},
	{"tunnel", 16, 255, [3]uint8{150, 120, 90}},
	{"pole", 17, 5, [3]uint8{153, 153, 153}},
	{"polegroup", 18, 255, [3]uint8{153, 153, 153}},
	{"traffic light", 19, 6, [3]uint8{250, 170, 30}},
	{"traffic sign", 20, 7, [3]uint8{220, 220, 0}},
	{"vegetation", 21, 8, [3]uint8{107, 142, 35}},
	{"terrain", 22, 9, [3]uint8{152, 251, 152}},
	{"sky", 23, 10, [3]uint8{70, 130, 180}},
	{"person", 24, 11, [3]uint8{220, 20, 60}},
	{"rider", 25, 12, [3]uint8{255, 0, 0}},
	{"car", 26, 13, [3]uint8{0, 0, 142}},
	{"truck", 27, 14, [3]uint8{0, 0, 70}},
	{"bus", 28, 15, [3]uint8{0, 60, 100}},
	{"caravan", 29, 255, [3]uint8{0, 0, 90}},
	{"trailer", 30, 255, [3]uint8{0, 0, 110}},
	{"train", 31, 16, [3]uint8{0, 80, 100}},
	{"motorcycle", 32, 17, [3]uint8{0, 0, 230}},
	{"bicycle", 33, 18, [3]uint8{119, 11, 32}},
}

// ADE20KClasses returns the 150 ADE20K class names in index order (label
// value v is class v-1; 0 is unlabelled).
func ADE20KClasses() []string { return slices.Clone(ade20kNames) }

// COCOStuffClasses returns the 182 COCO-Stuff class names in index order.
func COCOStuffClasses() []string { return slices.Clone(cocoStuffNames) }

// CityscapesTrainClasses returns the 19 Cityscapes training classes in
// trainId order.
func CityscapesTrainClasses() []string {
	var names []string
	for _, l := range cityscapesLabels {
		if l.trainID != 255 {
			names = append(names, l.name)
		}
	}
	return names
}
