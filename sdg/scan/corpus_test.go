package scan

import (
	"math/rand/v2"
	"testing"

	"github.com/holdfast/holdfast/sdg/scan/scantest"
)

// TestGeneratedValues: every valid generated value is found with the
// keyword tier, every invalid one is not found at all.
func TestGeneratedValues(t *testing.T) {
	s := allPredefined(t)
	r := rand.New(rand.NewPCG(1, 2))
	gens := []struct {
		typ, kw string
		gen     func(*rand.Rand, bool) string
	}{
		{CreditCard, "card number", scantest.Card},
		{USSSN, "SSN", scantest.SSN},
		{IBAN, "IBAN", scantest.IBAN},
	}
	for _, g := range gens {
		for i := 0; i < 500; i++ {
			valid := i%2 == 0
			v := g.gen(r, valid)
			ms := s.Scan([]byte("the " + g.kw + " " + v + " was given"))
			n := 0
			for _, m := range ms {
				if m.Type == g.typ {
					n++
					if m.Confidence != High {
						t.Errorf("%s %q: confidence %d, want 85", g.typ, v, m.Confidence)
					}
				}
			}
			if valid && n != 1 || !valid && n != 0 {
				t.Errorf("%s %q (valid %v): found %d times", g.typ, v, valid, n)
			}
		}
	}
}

func BenchmarkScan(b *testing.B) {
	data := scantest.Corpus(16<<20, 7)
	s := allPredefined(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Scan(data)
	}
}
