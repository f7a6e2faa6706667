package scan

// The predefined detectors. The digit pass visits each run of digits once;
// a run and the groups that follow it (single separators between them) form
// a token, and the token's shape decides which detectors look at it.

// token is a run of digit groups.
type token struct {
	start, end int      // bytes of the token in the text
	groups     [8]uint8 // digits per group
	ng         int      // number of groups
	sep        byte     // the separator (0: one group, '!': mixed)
	digits     [24]byte // the digits, separators removed
	nd         int      // number of digits (more than 24: too long)
	paren      bool     // "(415) 555-2671": the first group in parentheses
}

func (t *token) d() []byte { return t.digits[:min(t.nd, len(t.digits))] }

// shape reports whether the groups have exactly these sizes.
func (t *token) shape(sizes ...uint8) bool {
	if t.ng != len(sizes) {
		return false
	}
	for i, n := range sizes {
		if t.groups[i] != n {
			return false
		}
	}
	return true
}

// readToken reads the token starting at the digit at p.
func readToken(data []byte, p int) token {
	t := token{start: p}
	n := len(data)
	t.paren = p > 0 && data[p-1] == '('
	j := p
	for {
		g := 0
		for j < n && isDigit(data[j]) {
			if t.nd < len(t.digits) {
				t.digits[t.nd] = data[j]
			}
			t.nd++
			g++
			j++
		}
		t.groups[t.ng] = uint8(min(g, 255))
		t.ng++
		if j+1 >= n || t.ng == len(t.groups) || t.nd > len(t.digits) {
			break
		}
		c := data[j]
		k := j + 1
		if c == ')' && t.paren && t.ng == 1 {
			if data[k] == ' ' && k+1 < n {
				k++
			}
		} else if c != ' ' && c != '-' && c != '.' {
			break
		}
		if !isDigit(data[k]) {
			break
		}
		switch {
		case c == ')':
			// the first group's parenthesis is no separator
		case t.sep == 0:
			t.sep = c
		case t.sep != c:
			t.sep = '!'
		}
		j = k
	}
	t.end = j
	return t
}

// digitPass finds the candidates of the digit-based types.
func (s *Scanner) digitPass(data []byte, hits []hit) []hit {
	n := len(data)
	for i := 0; i < n; {
		i = nextDigit(data, i)
		if i >= n {
			break
		}
		// most runs are short numbers standing alone (amounts, times, counts)
		j := i
		for j < n && isDigit(data[j]) {
			j++
		}
		if j-i < 6 && !continues(data, j) && (i < 2 || !isUpper(data[i-1]) || !isUpper(data[i-2])) {
			i = j
			continue
		}
		t := readToken(data, i)
		end := t.end
		if t.nd >= 6 || (i >= 2 && isUpper(data[i-1]) && isUpper(data[i-2])) {
			hits, end = s.classify(data, &t, hits)
		}
		// a token ends at a non-digit; skip the rest of an alphanumeric word
		i = max(end, t.end)
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	return hits
}

// continues reports whether the digit run ending at j goes on to another
// group: a separator, then a digit (or, after a parenthesis, a space).
func continues(data []byte, j int) bool {
	if j+1 >= len(data) {
		return false
	}
	switch data[j] {
	case ' ', '-', '.':
		return isDigit(data[j+1])
	case ')':
		return isDigit(data[j+1]) || data[j+1] == ' '
	}
	return false
}

// add appends a candidate of a predefined type when the scanner has it.
func (s *Scanner) add(hits []hit, k kind, start, end int, alone, with Confidence) []hit {
	if ti := s.kinds[k]; ti >= 0 {
		hits = append(hits, hit{typ: ti, start: start, end: end, alone: alone, with: with})
	}
	return hits
}

// classify runs the detectors that fit the token's shape and context.
func (s *Scanner) classify(data []byte, t *token, hits []hit) ([]hit, int) {
	n := len(data)
	p := t.start
	letters := 0
	for letters < 3 && p-letters > 0 && isAlpha(data[p-letters-1]) {
		letters++
	}
	leftWord := p-letters > 0 && isAlnum(data[p-letters-1])
	rightAlnum := t.end < n && isAlnum(data[t.end])
	if leftWord || letters == 3 {
		return hits, t.end
	}
	switch letters {
	case 0:
		if !rightAlnum {
			hits = s.numeric(data, t, hits)
		}
		hits = s.spacedNINO(data, t, hits)
	case 1:
		if !rightAlnum && t.ng == 1 && isUpper(data[p-1]) {
			switch t.nd {
			case 8:
				hits = s.add(hits, kUSPassport, p-1, t.end, 0, Medium)
			case 7:
				hits = s.add(hits, kIndiaPassport, p-1, t.end, 0, Medium)
			}
		}
	case 2:
		if e, ok := s.iban(data, p-2); ok {
			return s.add(hits, kIBAN, p-2, e, Medium, High), e
		}
		hits = s.compactNINO(data, t, hits)
	}
	return hits, t.end
}

// numeric runs the detectors of tokens made of digits alone.
func (s *Scanner) numeric(data []byte, t *token, hits []hit) []hit {
	if t.nd > len(t.digits) {
		return hits
	}
	d := t.d()
	p, e := t.start, t.end
	if p > 0 && data[p-1] == '+' {
		if t.ng >= 2 && t.nd >= 8 && t.nd <= 15 && d[0] != '0' {
			hits = s.add(hits, kPhone, p-1, e, Low, Medium)
		}
		return hits
	}
	sepOK := t.sep == ' ' || t.sep == '-'
	if t.nd >= 13 && t.nd <= 19 && cardShape(t) && cardIssuer(d) && luhn(d) && !allSame(d) {
		hits = s.add(hits, kCard, p, e, Medium, High)
	}
	switch t.nd {
	case 9:
		switch {
		case t.ng == 1:
			if validSSN(d) {
				hits = s.add(hits, kSSN, p, e, 0, Medium)
			}
			if !allSame(d) {
				hits = s.add(hits, kUSPassport, p, e, 0, Medium)
				hits = s.add(hits, kUKPassport, p, e, 0, Medium)
			}
			if validSIN(d) {
				hits = s.add(hits, kSIN, p, e, 0, Medium)
			}
		case sepOK && t.shape(3, 2, 4) && validSSN(d):
			hits = s.add(hits, kSSN, p, e, Low, High)
		case sepOK && t.shape(3, 3, 3) && validSIN(d):
			hits = s.add(hits, kSIN, p, e, 0, High)
		}
	case 10, 11:
		hits = s.nanp(t, hits)
	case 12:
		if validAadhaar(d) {
			if t.ng == 1 {
				hits = s.add(hits, kAadhaar, p, e, 0, Medium)
			} else if sepOK && t.shape(4, 4, 4) {
				hits = s.add(hits, kAadhaar, p, e, Low, High)
			}
		}
	}
	return hits
}

// nanp finds North American phone numbers: (415) 555-2671, 415-555-2671,
// 415.555.2671, 1 415 555 2671, or ten digits in a row (keyword only).
func (s *Scanner) nanp(t *token, hits []hit) []hit {
	d := t.d()
	if !validNANP(d) {
		return hits
	}
	p := t.start
	if t.paren {
		p--
	}
	switch {
	case t.ng == 1 && t.nd == 10:
		return s.add(hits, kPhone, p, t.end, 0, Low)
	case t.nd == 10 && t.shape(3, 3, 4) && t.sep != '!',
		t.nd == 11 && t.shape(1, 3, 3, 4) && t.sep != '!' && !t.paren:
		return s.add(hits, kPhone, p, t.end, Low, Medium)
	}
	return hits
}

// cardShape: one group, groups of four (the last 1-4), or 4-6-5 / 4-6-4.
func cardShape(t *token) bool {
	if t.ng == 1 {
		return true
	}
	if t.sep != ' ' && t.sep != '-' {
		return false
	}
	if t.shape(4, 6, 5) || t.shape(4, 6, 4) {
		return true
	}
	for i := 0; i < t.ng-1; i++ {
		if t.groups[i] != 4 {
			return false
		}
	}
	return t.groups[t.ng-1] >= 1 && t.groups[t.ng-1] <= 4
}

// iban reads an IBAN at s0 (two capital letters): compact, or in groups of
// four separated by single spaces. It returns the end of the IBAN.
func (s *Scanner) iban(data []byte, s0 int) (int, bool) {
	if s.kinds[kIBAN] < 0 || !isUpper(data[s0]) || !isUpper(data[s0+1]) {
		return 0, false
	}
	want, ok := ibanLengths[string(data[s0:s0+2])]
	if !ok {
		return 0, false
	}
	var v [34]byte
	nv := 0
	j := s0
	for j < len(data) && nv < want {
		c := data[j]
		switch {
		case isDigit(c) || isUpper(c):
			v[nv] = c
			nv++
			j++
		case c == ' ' && nv%4 == 0 && j+1 < len(data) && isAlnum(data[j+1]):
			j++
		default:
			return 0, false
		}
	}
	if nv != want || (j < len(data) && isAlnum(data[j])) {
		return 0, false
	}
	return j, validIBAN(v[:nv])
}

// compactNINO: AB123456C (the token is the six digits after two letters).
func (s *Scanner) compactNINO(data []byte, t *token, hits []hit) []hit {
	p := t.start
	if t.ng != 1 || t.nd != 6 || !validNINOPrefix(data[p-2], data[p-1]) {
		return hits
	}
	e := t.end
	if e < len(data) && data[e] >= 'A' && data[e] <= 'D' {
		e++
	}
	if e < len(data) && isAlnum(data[e]) {
		return hits
	}
	return s.add(hits, kNINO, p-2, e, Medium, High)
}

// spacedNINO: AB 12 34 56 C.
func (s *Scanner) spacedNINO(data []byte, t *token, hits []hit) []hit {
	p := t.start
	if !t.shape(2, 2, 2) || t.sep != ' ' || p < 3 || data[p-1] != ' ' ||
		!validNINOPrefix(data[p-3], data[p-2]) || (p > 3 && isAlnum(data[p-4])) {
		return hits
	}
	e := t.end
	if e+1 < len(data) && data[e] == ' ' && data[e+1] >= 'A' && data[e+1] <= 'D' {
		e += 2
	}
	if e < len(data) && isAlnum(data[e]) {
		return hits
	}
	return s.add(hits, kNINO, p-3, e, Medium, High)
}

// emailPass finds addresses around each '@'.
func (s *Scanner) emailPass(data []byte, hits []hit) []hit {
	for off := 0; off < len(data); {
		i := indexByte(data[off:], '@')
		if i < 0 {
			break
		}
		at := off + i
		off = at + 1
		a := at
		for a > 0 && at-a < 64 && isLocal(data[a-1]) {
			a--
		}
		for a < at && data[a] == '.' {
			a++
		}
		if a == at || data[at-1] == '.' {
			continue
		}
		e, ok := domainEnd(data, at+1)
		if !ok {
			continue
		}
		hits = append(hits, hit{typ: s.email, start: a, end: e, alone: Low, with: Medium})
		off = e
	}
	return hits
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// domainEnd reads dot-separated labels from i: at least two, none empty or
// edged with '-', the last two or more letters.
func domainEnd(data []byte, i int) (int, bool) {
	labels, end, last := 0, i, 0
	lastAlpha := true
	for j := i; j < len(data) && j-i < 253; {
		k := j
		alpha := true
		for k < len(data) && (isAlnum(data[k]) || data[k] == '-') && k-j < 63 {
			alpha = alpha && isAlpha(data[k])
			k++
		}
		if k == j || data[j] == '-' || data[k-1] == '-' {
			break
		}
		labels++
		end, last, lastAlpha = k, k-j, alpha
		if !(k+1 < len(data) && data[k] == '.' && isAlnum(data[k+1])) {
			break
		}
		j = k + 1
	}
	if labels < 2 || !lastAlpha || last < 2 {
		return 0, false
	}
	return end, true
}
