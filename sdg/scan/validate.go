package scan

// Check digits and number rules of the predefined types. Each function takes
// the normalized value (separators removed) and says whether it is valid.

// luhn reports whether the ASCII digits pass the Luhn (mod 10) check.
func luhn(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		n := int(c - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// allSame reports whether every byte of d is the same (1111 1111 ...),
// which the check digits of several schemes let through.
func allSame(d []byte) bool {
	for _, c := range d[1:] {
		if c != d[0] {
			return false
		}
	}
	return true
}

// cardIssuer reports whether the digits start with a known issuer prefix of
// that length (Visa, Mastercard, American Express, Discover, JCB, Diners
// Club, UnionPay).
func cardIssuer(d []byte) bool {
	n := len(d)
	p2 := num(d[:2])
	p4 := num(d[:4])
	switch {
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499):
		return n >= 16 && n <= 19
	case p2 == 35:
		return n >= 16 && n <= 19
	case p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059):
		return n == 14
	case p2 == 62:
		return n >= 16 && n <= 19
	}
	return false
}

// num is the value of a few ASCII digits.
func num(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}

// validSSN applies the US Social Security Administration's rules to nine
// digits: the area is not 000, 666 or 900-999, the group not 00, the serial
// not 0000, and the number is not one of the famous advertising numbers.
func validSSN(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area, group, serial := num(d[:3]), num(d[3:5]), num(d[5:])
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	s := string(d)
	return s != "078051120" && s != "219099999" && s != "123456789"
}

// ibanLengths is the IBAN length of each country of the SWIFT registry the
// scanner knows (a few dozen, the European ones among them).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18,
	"FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28,
	"IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
	"LT": 20, "LU": 20, "LV": 21, "MC": 27, "ME": 22, "MK": 19, "MT": 31, "MU": 30,
	"NL": 18, "NO": 15, "PK": 24, "PL": 28, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
	"SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29,
}

// mod97 reports whether an IBAN-shaped value (two letters, two check
// digits, then letters and digits) leaves 1 modulo 97 once its first four
// characters move to the end and letters become 10..35 (ISO 13616).
func mod97(v []byte) bool {
	if len(v) < 5 {
		return false
	}
	rem := 0
	step := func(c byte) bool {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
		return true
	}
	for _, c := range v[4:] {
		if !step(c) {
			return false
		}
	}
	for _, c := range v[:4] {
		if !step(c) {
			return false
		}
	}
	return rem == 1
}

// validIBAN checks the country's length and the mod-97 check digits.
func validIBAN(v []byte) bool {
	if len(v) < 15 || !isUpper(v[0]) || !isUpper(v[1]) || !isDigit(v[2]) || !isDigit(v[3]) {
		return false
	}
	n, ok := ibanLengths[string(v[:2])]
	return ok && n == len(v) && mod97(v)
}

// verhoeff tables (dihedral group D5), for the Aadhaar check digit.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeff reports whether the digits (check digit last) pass the Verhoeff check.
func verhoeff(d []byte) bool {
	c := byte(0)
	for i := 0; i < len(d); i++ {
		x := d[len(d)-1-i]
		if x < '0' || x > '9' {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][x-'0']]
	}
	return len(d) > 0 && c == 0
}

// validAadhaar: twelve digits, not starting with 0 or 1, Verhoeff check digit.
func validAadhaar(d []byte) bool {
	return len(d) == 12 && d[0] >= '2' && verhoeff(d) && !allSame(d)
}

// validSIN: a Canadian Social Insurance Number is nine digits passing Luhn,
// and does not start with 0 or 8.
func validSIN(d []byte) bool {
	return len(d) == 9 && d[0] != '0' && d[0] != '8' && luhn(d) && !allSame(d)
}

// validNINO applies HMRC's prefix rules to the two letters of a UK National
// Insurance number: neither is D, F, I, Q, U or V, the second is not O, and
// the pair is not one never issued.
func validNINOPrefix(a, b byte) bool {
	bad := func(c byte) bool {
		return c == 'D' || c == 'F' || c == 'I' || c == 'Q' || c == 'U' || c == 'V'
	}
	if !isUpper(a) || !isUpper(b) || bad(a) || bad(b) || b == 'O' {
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return true
}

// validNANP: a North American number's area code and exchange start 2-9,
// and the area code is not N11 (service codes) or 555 as an area.
func validNANP(d []byte) bool {
	if len(d) == 11 {
		if d[0] != '1' {
			return false
		}
		d = d[1:]
	}
	if len(d) != 10 || d[0] < '2' || d[3] < '2' {
		return false
	}
	return !(d[1] == '1' && d[2] == '1') && !(d[4] == '1' && d[5] == '1')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
