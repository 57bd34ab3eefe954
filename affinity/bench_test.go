package affinity

import (
	"testing"

	"catsynth/weights/glove"
)

// BenchmarkDecodeDefaultTable: decompress and decode the embedded GloVe
// table (what the first text estimate pays).
func BenchmarkDecodeDefaultTable(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := DecodeTable(glove.Table, glove.File); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTextEstimateADE20KFromCOCO: the text estimate of the 150 ADE20K
// classes against the 182 COCO-Stuff classes, table already loaded.
func BenchmarkTextEstimateADE20KFromCOCO(b *testing.B) {
	e := loadGlove(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := TextEstimate(e, ADE20KClasses, COCOStuffClasses, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
