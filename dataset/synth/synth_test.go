package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

// TestDeterministic renders the same scene twice and a different seed once.
func TestDeterministic(t *testing.T) {
	for _, dn := range Domains() {
		d, err := Lookup(dn)
		if err != nil {
			t.Fatal(err)
		}
		a, la := d.Render(7, 3, 64, 48)
		b, lb := d.Render(7, 3, 64, 48)
		c, _ := d.Render(8, 3, 64, 48)
		if !bytes.Equal(a.Pix, b.Pix) || !bytes.Equal(la, lb) {
			t.Errorf("%s: same seed gave different scenes", dn)
		}
		if bytes.Equal(a.Pix, c.Pix) {
			t.Errorf("%s: different seeds gave the same image", dn)
		}
		if a.Rect.Dx() != 64 || a.Rect.Dy() != 48 || len(la) != 64*48 {
			t.Errorf("%s: size %v, %d labels", dn, a.Rect, len(la))
		}
		for _, v := range la {
			if int(v) >= len(d.Classes) {
				t.Fatalf("%s: label %d beyond %d classes", dn, v, len(d.Classes))
			}
		}
	}
}

// TestClassCoverage renders many scenes per domain and checks that every
// class appears somewhere and no class fills whole images alone.
func TestClassCoverage(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	for _, dn := range Domains() {
		d, _ := Lookup(dn)
		count := make([]int, len(d.Classes))
		for i := 0; i < 60; i++ {
			_, lab := d.Render(seed, i, 96, 96)
			seen := map[uint8]bool{}
			for _, v := range lab {
				seen[v] = true
			}
			if len(seen) < 3 {
				t.Errorf("%s scene %d has only %d classes", dn, i, len(seen))
			}
			for v := range seen {
				count[v]++
			}
		}
		for c, n := range count {
			if n == 0 {
				t.Errorf("%s: class %q never appears in 60 scenes", dn, d.Classes[c].Name)
			}
		}
	}
}

// TestTexture checks that regions are textured, not flat: within a large
// region of one class the colours vary.
func TestTexture(t *testing.T) {
	d, _ := Lookup("source")
	img, lab := d.Render(3, 0, 128, 128)
	var sum, sq [3]float64
	n := 0
	ref := lab[127*128+64]
	for i, v := range lab {
		if v != ref {
			continue
		}
		for c := 0; c < 3; c++ {
			x := float64(img.Pix[4*i+c])
			sum[c] += x
			sq[c] += x * x
		}
		n++
	}
	for c := 0; c < 3; c++ {
		m := sum[c] / float64(n)
		sd := math.Sqrt(sq[c]/float64(n) - m*m)
		if sd < 4 {
			t.Errorf("class %s channel %d: std %.1f over %d pixels, looks flat", d.Classes[ref].Name, c, sd, n)
		}
	}
}

// TestRelation checks the ground-truth relations: rows sum to 1, every
// target domain has a class with no source relative, JSON round-trips.
func TestRelation(t *testing.T) {
	for _, dn := range Domains() {
		d, _ := Lookup(dn)
		r := d.Relation()
		if len(r.Matrix) != len(d.Classes) || len(r.SourceClasses) != len(SourceClasses) {
			t.Fatalf("%s: matrix %d rows", dn, len(r.Matrix))
		}
		for ti, row := range r.Matrix {
			var s float64
			for _, v := range row {
				s += v
			}
			if s != 0 && math.Abs(s-1) > 1e-3 {
				t.Errorf("%s: row %s sums to %v", dn, r.TargetClasses[ti], s)
			}
		}
		if dn == "source" {
			for i := range r.Matrix {
				if r.Matrix[i][i] != 1 {
					t.Errorf("source relation is not the identity at %d", i)
				}
			}
			continue
		}
		if len(r.Novel) == 0 {
			t.Errorf("%s: no class without a source relative", dn)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Relation
		if err := json.Unmarshal(b, &back); err != nil || fmt.Sprint(back.Matrix) != fmt.Sprint(r.Matrix) {
			t.Errorf("%s: JSON round trip failed: %v", dn, err)
		}
	}
	st, _ := Lookup("street")
	w := st.Relation().Weights
	if w["truck"]["car"] != 1 || w["vegetation"]["tree"] == 0 || w["vegetation"]["bush"] == 0 {
		t.Errorf("street relation: truck %v vegetation %v", w["truck"], w["vegetation"])
	}
}

// BenchmarkRender measures images per second at 128x128 on one goroutine.
func BenchmarkRender(b *testing.B) {
	for _, dn := range Domains() {
		d, _ := Lookup(dn)
		b.Run(dn, func(b *testing.B) {
			c0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				d.Render(1, i, 128, 128)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			if c := cpuSeconds() - c0; c > 0 {
				b.ReportMetric(float64(b.N)/c, "images/cpu-s")
			}
		})
	}
}
