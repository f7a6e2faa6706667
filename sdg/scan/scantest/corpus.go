// Package scantest makes text for testing and measuring the scanner: prose
// with the numbers real documents carry (dates, amounts, order numbers,
// times) and sensitive values embedded, valid and invalid alike.
package scantest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var words = strings.Fields(`the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there their one all we can has been if more when will
would who so no out up into do any your what some could them other than then now only its over also
time after new two most first year years work people made may like just because used well way many
between very both through during before such where much since same any each under three should those
while house world still home report customer account invoice payment order shipment delivery meeting
quarter budget review project team manager policy claim patient record office contract service support
please thank regards attached document schedule revenue balance transfer summary department employee
benefits insurance address number total amount invoice reference request update approved pending`)

var tlds = []string{"com", "org", "net", "co.uk", "de", "io"}

// Corpus returns about size bytes of text from seed. Roughly one line in
// twelve carries a sensitive value (half of them invalid: a broken check
// digit, a never-issued area), some with a keyword next to them.
func Corpus(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b strings.Builder
	b.Grow(size + 256)
	for b.Len() < size {
		line(r, &b)
		b.WriteByte('\n')
	}
	return []byte(b.String()[:size])
}

func line(r *rand.Rand, b *strings.Builder) {
	n := 8 + r.IntN(14)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch x := r.IntN(100); {
		case x < 3:
			fmt.Fprintf(b, "%d-%02d-%02d", 2015+r.IntN(11), 1+r.IntN(12), 1+r.IntN(28))
		case x < 5:
			fmt.Fprintf(b, "$%d,%03d.%02d", 1+r.IntN(99), r.IntN(1000), r.IntN(100))
		case x < 7:
			fmt.Fprintf(b, "#%d", 10000+r.IntN(99999999))
		case x < 8:
			fmt.Fprintf(b, "%02d:%02d", r.IntN(24), r.IntN(60))
		case x < 10:
			fmt.Fprintf(b, "%d", r.IntN(1000))
		default:
			w := words[r.IntN(len(words))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
		}
	}
	if r.IntN(12) == 0 {
		b.WriteByte(' ')
		b.WriteString(Sensitive(r))
	}
	b.WriteByte('.')
}

// Sensitive returns one embedded value, sometimes after a keyword.
func Sensitive(r *rand.Rand) string {
	valid := r.IntN(2) == 0
	var v, kw string
	switch r.IntN(7) {
	case 0:
		v, kw = Card(r, valid), "card number"
	case 1:
		v, kw = SSN(r, valid), "SSN"
	case 2:
		v, kw = IBAN(r, valid), "IBAN"
	case 3:
		v, kw = fmt.Sprintf("%s.%s@%s.%s", words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], tlds[r.IntN(len(tlds))]), "email"
	case 4:
		v, kw = fmt.Sprintf("(%d) %d-%04d", 201+r.IntN(798), 201+r.IntN(798), r.IntN(10000)), "phone"
	case 5:
		v, kw = fmt.Sprintf("%c%08d", 'A'+r.IntN(26), r.IntN(100000000)), "passport"
	default:
		v, kw = fmt.Sprintf("%d", 100000000+r.IntN(899999999)), "reference"
	}
	if r.IntN(2) == 0 {
		return kw + ": " + v
	}
	return v
}

// Card returns a 16-digit Visa or Mastercard number, Luhn-valid or not,
// in groups of four or in one run.
func Card(r *rand.Rand, valid bool) string {
	d := make([]byte, 16)
	d[0] = '4'
	if r.IntN(2) == 0 {
		d[0], d[1] = '5', byte('1'+r.IntN(5))
	} else {
		d[1] = byte('0' + r.IntN(10))
	}
	for i := 2; i < 15; i++ {
		d[i] = byte('0' + r.IntN(10))
	}
	d[15] = luhnDigit(d[:15])
	if !valid {
		d[15] = '0' + (d[15]-'0'+1+byte(r.IntN(9)))%10
	}
	if r.IntN(2) == 0 {
		return string(d)
	}
	return string(d[:4]) + " " + string(d[4:8]) + " " + string(d[8:12]) + " " + string(d[12:])
}

func luhnDigit(d []byte) byte {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if (len(d)-1-i)%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return byte('0' + (10-sum%10)%10)
}

// SSN returns a formatted US Social Security number; an invalid one has
// an area of 000, 666 or 9xx.
func SSN(r *rand.Rand, valid bool) string {
	area := 1 + r.IntN(665)
	if !valid {
		area = []int{0, 666, 900 + r.IntN(100)}[r.IntN(3)]
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, 1+r.IntN(99), 1+r.IntN(9999))
}

// IBAN returns a German IBAN in groups of four, with the right check digits
// or with them off by one.
func IBAN(r *rand.Rand, valid bool) string {
	bban := fmt.Sprintf("%08d%010d", r.IntN(100000000), r.IntN(10000000000))
	// check digits: 98 - (bban + "DE00" as numbers) mod 97
	rem := 0
	for _, c := range bban + "131400" {
		rem = (rem*10 + int(c-'0')) % 97
	}
	check := 98 - rem
	if !valid {
		check = 2 + (check-2+1)%97
	}
	s := fmt.Sprintf("DE%02d%s", check, bban)
	var g []string
	for i := 0; i < len(s); i += 4 {
		g = append(g, s[i:min(len(s), i+4)])
	}
	return strings.Join(g, " ")
}
