package scan

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"card 4111 1111 1111 1111 exp 12/29",
	"SSN: 536-22-1234, ssn 536221234",
	"IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000",
	"mail Jane.Doe+hr@corp.example.co.uk or x@y",
	"Call (415) 555-2671, +44 20 7946 0958, 415.555.2671",
	"passport C03005988, British passport 925076473, J8369854",
	"SIN 130 692 544, NI number AB123456C, AB 12 34 56 C",
	"Aadhaar 2341 2341 2346 ((((( ---- 12-34-56-78-90-12-34-56-78",
	"\xff\xfe4111111111111111\x00\n\t",
}

// FuzzScan: whatever the text, every match lies inside it, carries a tier,
// re-validates, and its snippet never shows the value.
func FuzzScan(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := allPredefined(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ms := s.Scan(data)
		again := s.Scan(data)
		if len(ms) != len(again) {
			t.Fatal("two scans of the same text differ")
		}
		for i, m := range ms {
			if m.Start < 0 || m.End > len(data) || m.Start >= m.End || !m.Confidence.Valid() || m != again[i] {
				t.Fatalf("bad match %+v in %d bytes", m, len(data))
			}
			if i > 0 && ms[i-1].Start > m.Start {
				t.Fatalf("matches out of order: %+v then %+v", ms[i-1], m)
			}
			v := data[m.Start:m.End]
			if !revalidate(m.Type, normalize(m.Type, v)) {
				t.Fatalf("%s %q does not validate", m.Type, v)
			}
		}
		for _, fd := range s.Summarize(data, ms, 100) {
			for _, sn := range fd.Snippets {
				for _, m := range ms {
					if v := data[m.Start:m.End]; len(v) >= 6 && strings.Contains(sn, string(v)) {
						t.Fatalf("snippet %q shows %q", sn, v)
					}
				}
			}
		}
	})
}

// revalidate checks a reported value again by its type's rule alone.
func revalidate(typ string, v []byte) bool {
	switch typ {
	case CreditCard:
		return luhn(v) && cardIssuer(v)
	case USSSN:
		return validSSN(v)
	case IBAN:
		return validIBAN(v)
	case CanadaSIN:
		return validSIN(v)
	case IndiaAadhaar:
		return validAadhaar(v)
	case Phone:
		return len(digitsOf(v)) >= 8
	case UKNINO:
		return len(v) >= 8 && validNINOPrefix(v[0], v[1])
	case Email:
		return bytes.Count(v, []byte("@")) == 1
	}
	return len(v) > 0
}

// FuzzFold: the eight-bytes-at-a-time folding and digit search agree with
// the byte-at-a-time ones.
func FuzzFold(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("@AZ[`az{\x80\xc1\xda\xff09/:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := appendLower(nil, data), appendLowerSlow(nil, data); !bytes.Equal(got, want) {
			t.Fatalf("appendLower(%q) = %q, want %q", data, got, want)
		}
		naive := len(data)
		for i, c := range data {
			if isDigit(c) {
				naive = i
				break
			}
		}
		if got := nextDigit(data, 0); got != naive {
			t.Fatalf("nextDigit(%q) = %d, want %d", data, got, naive)
		}
	})
}

// FuzzCustomType: a pattern that Check accepts builds, and its matches are
// matches of the pattern.
func FuzzCustomType(f *testing.F) {
	f.Add(`EMP-\d{6}`, "employee", "EMP-123456 Employee EMP-654321")
	f.Add(`\b\d{8}\b`, "loyalty card", "Loyalty Card 12345674")
	f.Add(`(a|b)+`, "", "ababab")
	f.Fuzz(func(t *testing.T, pattern, keyword, text string) {
		typ := Type{ID: "c", Pattern: pattern, WithKeyword: High}
		if keyword != "" {
			typ.Keywords = []string{keyword}
		}
		if Check(typ) != nil {
			return
		}
		s, err := New([]Type{typ}, testKey)
		if err != nil {
			t.Fatalf("Check accepted what New refuses: %v", err)
		}
		re := regexp.MustCompile(`^(?:` + pattern + `)$`)
		for _, m := range s.Scan([]byte(text)) {
			if v := text[m.Start:m.End]; !re.MatchString(v) && !regexp.MustCompile(pattern).MatchString(v) {
				t.Fatalf("%q matched %q, which the pattern does not", pattern, v)
			}
		}
	})
}
