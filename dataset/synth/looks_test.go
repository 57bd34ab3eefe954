package synth

import (
	"math"
	"sort"
	"testing"
)

// classMeans renders n scenes of d and returns the mean colour and the
// pixel count of each class.
func classMeans(d *Domain, seed uint64, n, size int) ([][3]float64, []int) {
	sum := make([][3]float64, len(d.Classes))
	cnt := make([]int, len(d.Classes))
	for i := 0; i < n; i++ {
		img, lab := d.Render(seed, i, size, size)
		for j, v := range lab {
			for c := 0; c < 3; c++ {
				sum[v][c] += float64(img.Pix[4*j+c])
			}
			cnt[v]++
		}
	}
	for k := range sum {
		for c := 0; c < 3; c++ {
			sum[k][c] /= math.Max(1, float64(cnt[k]))
		}
	}
	return sum, cnt
}

// TestTargetsLookLikeRelatives: a target class whose relation puts most
// weight on one source class has a mean colour closer to that class than to
// two thirds of the source classes (mean colour is a crude summary: a mixed
// class such as scree = rock + dirt drifts towards its second relative). This
// is what makes the relation visible in images.
func TestTargetsLookLikeRelatives(t *testing.T) {
	const seed, n, size = 5, 40, 64
	t.Logf("seed %d", seed)
	src, _ := Lookup("source")
	sm, sc := classMeans(src, seed, n, size)
	for _, dn := range []string{"coast", "street", "alpine"} {
		d, _ := Lookup(dn)
		tm, tc := classMeans(d, seed, n, size)
		rel := d.Relation()
		for ti, row := range rel.Matrix {
			best, bw := -1, 0.0
			for si, w := range row {
				if w > bw {
					best, bw = si, w
				}
			}
			if bw < 0.7 || tc[ti] < 200 || sc[best] < 200 {
				continue
			}
			type dist struct {
				s int
				d float64
			}
			var ds []dist
			for si := range SourceClasses {
				if sc[si] < 200 {
					continue
				}
				var e float64
				for c := 0; c < 3; c++ {
					e += (tm[ti][c] - sm[si][c]) * (tm[ti][c] - sm[si][c])
				}
				ds = append(ds, dist{si, math.Sqrt(e)})
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i].d < ds[j].d })
			rank := 0
			for rank < len(ds) && ds[rank].s != best {
				rank++
			}
			t.Logf("%s/%s: relative %s ranks %d of %d by mean colour", dn, rel.TargetClasses[ti], SourceClasses[best], rank+1, len(ds))
			if rank >= len(ds)/3 {
				t.Errorf("%s/%s looks unlike its relative %s (rank %d of %d)", dn, rel.TargetClasses[ti], SourceClasses[best], rank+1, len(ds))
			}
		}
	}
}
