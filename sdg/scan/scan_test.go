package scan

import (
	"strings"
	"testing"
)

var testKey = []byte("test fingerprint key")

func allPredefined(t testing.TB) *Scanner {
	t.Helper()
	s, err := New(Predefined(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// found returns "type:confidence" of every match, in order.
func found(s *Scanner, text string) []string {
	var out []string
	for _, m := range s.Scan([]byte(text)) {
		out = append(out, m.Type+":"+itoa(int(m.Confidence))+":"+text[m.Start:m.End])
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestDetectors(t *testing.T) {
	s := allPredefined(t)
	cases := []struct {
		text string
		want []string
	}{
		// cards: Luhn and the issuer prefix decide; a keyword raises 75 to 85
		{"order paid with 4111 1111 1111 1111 today", []string{"credit_card:75:4111 1111 1111 1111"}},
		{"Visa card number 4111-1111-1111-1111.", []string{"credit_card:85:4111-1111-1111-1111"}},
		{"amex 378282246310005", []string{"credit_card:85:378282246310005"}},
		{"ref 4111 1111 1111 1112 today", nil},           // Luhn fails
		{"ref 1234 5678 9012 3452 today", nil},           // Luhn passes, no issuer starts with 1
		{"ref 4111 1111 11111 111 today", nil},           // not a card's grouping
		{"x4111111111111111 and 4111111111111111y", nil}, // not whole words
		// SSN: area, group and serial rules; unformatted only with a keyword
		{"id 536-22-1234 on file", []string{"us_ssn:65:536-22-1234"}},
		{"SSN: 536-22-1234", []string{"us_ssn:85:536-22-1234"}},
		{"Social Security Number 536221234", []string{"us_ssn:75:536221234"}},
		{"ssn 666-22-1234, 900-22-1234, 536-00-1234, 536-22-0000, 000-22-1234", nil},
		{"id 536221234 on file", nil},
		// IBAN: country length and mod-97
		{"pay to GB82 WEST 1234 5698 7654 32 please", []string{"iban:75:GB82 WEST 1234 5698 7654 32"}},
		{"IBAN: DE89370400440532013000", []string{"iban:85:DE89370400440532013000"}},
		{"IBAN: DE89370400440532013001", nil},
		{"IBAN: DE8937040044053201300", nil}, // one short for Germany
		// email
		{"write to Jane.Doe+hr@corp.example.co.uk.", []string{"email:65:Jane.Doe+hr@corp.example.co.uk"}},
		{"email: jd@example.org", []string{"email:75:jd@example.org"}},
		{"not@an-address and a@b.c and x@host", nil},
		// phones
		{"Call (415) 555-2671 now", []string{"phone:75:(415) 555-2671"}},
		{"at 415.555.2671 or +44 20 7946 0958", []string{"phone:65:415.555.2671", "phone:65:+44 20 7946 0958"}},
		{"ref 115-555-2671", nil}, // no area code starts with 1
		// passports, national ids: with keywords
		{"passport number C03005988", []string{"us_passport:75:C03005988"}},
		{"British passport 925076473", []string{"us_passport:75:925076473", "uk_passport:75:925076473"}}, // "passport" is a U.S. keyword too
		{"issued by the passport office 925076473", []string{"us_passport:75:925076473", "uk_passport:75:925076473"}},
		{"doc 925076473", nil},
		{"Indian passport J8369854", []string{"india_passport:75:J8369854"}},
		{"Social insurance number: 130 692 544", []string{"ca_sin:85:130 692 544"}},
		{"SIN 130 692 545", nil},
		{"NI number AB123456C", []string{"uk_nino:85:AB123456C"}},
		{"ref QQ 12 34 56 C", nil}, // Q never starts one
		{"held by AB 12 34 56 C", []string{"uk_nino:75:AB 12 34 56 C"}},
	}
	for _, c := range cases {
		got := found(s, c.text)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q:\n got %q\nwant %q", c.text, got, c.want)
		}
	}
}

func TestAadhaar(t *testing.T) {
	// the classic Verhoeff example: 236 takes the check digit 3
	if !verhoeff([]byte("2363")) || verhoeff([]byte("2364")) {
		t.Fatal("verhoeff: 2363 is valid, 2364 is not")
	}
	num := withVerhoeff("23412341234")
	s := allPredefined(t)
	text := "Aadhaar " + num[:4] + " " + num[4:8] + " " + num[8:]
	if got := found(s, text); len(got) != 1 || got[0] != "in_aadhaar:85:"+text[8:] {
		t.Fatalf("got %q", got)
	}
	bad := []byte(num)
	bad[11] = '0' + (bad[11]-'0'+1)%10
	if got := found(s, "Aadhaar "+string(bad)); got != nil {
		t.Fatalf("a wrong check digit: got %q", got)
	}
}

// withVerhoeff appends the check digit that makes d pass.
func withVerhoeff(d string) string {
	for c := byte('0'); c <= '9'; c++ {
		if verhoeff([]byte(d + string(c))) {
			return d + string(c)
		}
	}
	panic("no check digit")
}

func TestKeywordProximity(t *testing.T) {
	s := allPredefined(t)
	pad := strings.Repeat("lorem ipsum ", 30) // 360 bytes
	cases := map[string]int{
		"SSN 536-22-1234":                  85,
		"ssn: 536-22-1234":                 85, // any case
		"SSN " + pad + "536-22-1234":       65, // beyond the window
		"536-22-1234 " + pad[:240] + "ssn": 85,
		"classn 536-22-1234":               65, // not a whole word
		"ssnx 536-22-1234":                 65,
	}
	for text, want := range cases {
		ms := s.Scan([]byte(text))
		if len(ms) != 1 || ms[0].Confidence != Confidence(want) {
			t.Errorf("%.40q: got %+v, want one match at %d", text, ms, want)
		}
	}
}

func TestFingerprintAndSnippet(t *testing.T) {
	s := allPredefined(t)
	a := s.Scan([]byte("card 4111 1111 1111 1111 here"))
	b := s.Scan([]byte("other text, card 4111-1111-1111-1111"))
	if len(a) != 1 || len(b) != 1 || a[0].Fingerprint != b[0].Fingerprint {
		t.Fatalf("the same number formatted twice: %+v %+v", a, b)
	}
	other, _ := New(Predefined(), []byte("another key"))
	if c := other.Scan([]byte("card 4111 1111 1111 1111")); c[0].Fingerprint == a[0].Fingerprint {
		t.Fatal("the fingerprint does not depend on the key")
	}
	text := "Employee 42, SSN 536-22-1234, card 4111111111111111, mail jd@example.org"
	fs := s.Summarize([]byte(text), s.Scan([]byte(text)), 3)
	if len(fs) != 3 {
		t.Fatalf("findings %+v", fs)
	}
	for _, f := range fs {
		if f.Count != 1 || len(f.Snippets) != 1 {
			t.Fatalf("finding %+v", f)
		}
		sn := f.Snippets[0]
		for _, v := range []string{"536", "1234", "4111", "jd@", "example.org"} {
			if strings.Contains(sn, v) {
				t.Errorf("%s: the snippet %q shows %q", f.Type, sn, v)
			}
		}
		if strings.ContainsAny(sn, "0123456789") || !strings.Contains(sn, "*") {
			t.Errorf("%s: the snippet %q shows digits or no mask", f.Type, sn)
		}
	}
	// a finding's fingerprint: the same values in any order and format
	one := s.Summarize(nil, s.Scan([]byte("SSN 536-22-1234 and 536 22 1235 ssn")), 0)
	two := s.Summarize(nil, s.Scan([]byte("ssn 536221235, then SSN 536-22-1234")), 0)
	three := s.Summarize(nil, s.Scan([]byte("SSN 536-22-1234 and 536-22-1236")), 0)
	if one[0].Fingerprint != two[0].Fingerprint || one[0].Fingerprint == three[0].Fingerprint {
		t.Fatalf("finding fingerprints: %s %s %s", one[0].Fingerprint, two[0].Fingerprint, three[0].Fingerprint)
	}
}

func TestCustomType(t *testing.T) {
	emp := Type{ID: "employee_id", Name: "Employee id", Pattern: `EMP-\d{6}\b`, Keywords: []string{"employee"}, Alone: Low, WithKeyword: High}
	s, err := New([]Type{emp, {ID: CreditCard}}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	got := found(s, "EMP-123456 and "+strings.Repeat("filler ", 50)+"Employee EMP-654321, not EMP-12345 or XEMP-1234567")
	want := []string{"employee_id:65:EMP-123456", "employee_id:85:EMP-654321"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
	// keyword-anchored, with a Luhn check
	acct := Type{ID: "loyalty", Name: "Loyalty card", Pattern: `\b\d{8}\b`, Keywords: []string{"loyalty card"}, Validator: ValidatorLuhn, WithKeyword: Medium}
	s, err = New([]Type{acct}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	got = found(s, "Loyalty Card 12345674 and 12345675; "+strings.Repeat("filler ", 50)+"far away 12345674")
	if strings.Join(got, "|") != "loyalty:75:12345674" {
		t.Fatalf("keyword-anchored: got %q", got)
	}
}

func TestCustomTypeRefused(t *testing.T) {
	cases := map[string]Type{
		"pattern":      {ID: "a", Pattern: `[A-Z]{3}\d{6}`, WithKeyword: Medium},         // no literal to prefilter on
		"with_keyword": {ID: "b", Pattern: `ABC\d+`, Alone: High, WithKeyword: Low},      // tiers upside down
		"validator":    {ID: "c", Pattern: `ABC\d+`, Validator: "crc", WithKeyword: Low}, // unknown
		"alone":        {ID: "d", Pattern: `ABC\d+`, Alone: 70, WithKeyword: High},
		"keywords":     {ID: "e", Pattern: `ABC\d+`, Keywords: []string{" "}, WithKeyword: High},
	}
	cases["pattern "] = Type{ID: "f", Pattern: `(`, WithKeyword: Low}
	cases["pattern  "] = Type{ID: "g", Pattern: `x*`, Keywords: []string{"k"}, WithKeyword: Low}
	for field, typ := range cases {
		var fe *FieldError
		err := Check(typ)
		if err == nil || !asFieldError(err, &fe) || fe.Field != strings.TrimSpace(field) {
			t.Errorf("%+v: got %v, want a %s error", typ, err, field)
		}
	}
}

func asFieldError(err error, fe **FieldError) bool {
	e, ok := err.(*FieldError)
	*fe = e
	return ok
}
