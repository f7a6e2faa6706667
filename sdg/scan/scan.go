// Package scan finds sensitive information in text: validated detectors for
// the predefined types (card numbers, national identifiers, IBANs, email
// addresses, phone numbers, passports), custom types an administrator
// defines (an RE2 pattern behind a literal prefilter), keyword evidence
// within a window, and Purview's confidence tiers. A match leaves the
// scanner as a position, a keyed fingerprint and a redacted snippet, never
// as the value in clear.
package scan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"

	"github.com/coregx/ahocorasick"
)

// Match is one occurrence of a type in scanned text.
type Match struct {
	Type       string     `json:"type"`
	Start      int        `json:"start"`
	End        int        `json:"end"`
	Confidence Confidence `json:"confidence"`
	// Fingerprint is a keyed hash of the type and the normalized value:
	// the same value gives the same fingerprint under the same key, and the
	// value cannot be recovered from it.
	Fingerprint string `json:"fingerprint"`
}

// hit is a candidate before keyword scoring: the confidence it earns
// without and with a keyword of its type nearby (0: not reported).
type hit struct {
	typ         int
	start, end  int
	alone, with Confidence
}

// kwHit is a whole-word keyword occurrence of one type.
type kwHit struct{ start, end int }

// Scanner scans text for a fixed set of types. It is safe for concurrent use.
type Scanner struct {
	types  []Type
	byID   map[string]int
	kinds  [numKinds]int // the index of each digit-based type, -1 when absent
	digits bool          // whether any digit-based type is present
	email  int           // index of the email type, or -1
	// kw finds every type's keywords (lower case) in the windows around
	// candidates; kwTypes maps a keyword pattern to the types naming it.
	kw      *ahocorasick.Automaton
	kwTypes [][]int
	maxWin  int
	// anchors finds the custom types' literals in the whole text.
	anchors    *ahocorasick.Automaton
	anchorRefs []anchorRef
	customs    map[int]*custom
	key        []byte
}

// New builds a scanner for types (predefined ones by their id, custom ones
// with their pattern); key keys the fingerprints.
func New(types []Type, key []byte) (*Scanner, error) {
	s := &Scanner{byID: map[string]int{}, email: -1, customs: map[int]*custom{}, key: key}
	for k := range s.kinds {
		s.kinds[k] = -1
	}
	builtin := map[string]Type{}
	for _, t := range Predefined() {
		builtin[t.ID] = t
	}
	for _, t := range types {
		if _, dup := s.byID[t.ID]; dup {
			return nil, fmt.Errorf("scan: type %q given twice", t.ID)
		}
		i := len(s.types)
		if b, ok := builtin[t.ID]; ok && t.Pattern == "" {
			t = b
			if t.ID == Email {
				s.email = i
			} else {
				s.kinds[slices.Index(kindIDs[:], t.ID)] = i
				s.digits = true
			}
		} else {
			c, err := compileCustom(t)
			if err != nil {
				return nil, err
			}
			s.customs[i] = c
		}
		if t.Window <= 0 {
			t.Window = DefaultWindow
		}
		s.maxWin = max(s.maxWin, t.Window)
		s.byID[t.ID] = i
		s.types = append(s.types, t)
	}
	if err := s.buildKeywords(); err != nil {
		return nil, err
	}
	if err := s.buildAnchors(); err != nil {
		return nil, err
	}
	return s, nil
}

// Types returns the types the scanner looks for.
func (s *Scanner) Types() []Type { return append([]Type(nil), s.types...) }

func (s *Scanner) buildKeywords() error {
	idx := map[string]int{}
	var pats []string
	for ti, t := range s.types {
		for _, k := range t.Keywords {
			if v := lowerASCII(strings.TrimSpace(k)); v != "" {
				p, ok := idx[v]
				if !ok {
					p = len(pats)
					idx[v] = p
					pats = append(pats, v)
					s.kwTypes = append(s.kwTypes, nil)
				}
				if !slices.Contains(s.kwTypes[p], ti) {
					s.kwTypes[p] = append(s.kwTypes[p], ti)
				}
			}
		}
	}
	a, err := automaton(pats, "keywords")
	s.kw = a
	return err
}

// automaton builds the Aho-Corasick automaton of pats (nil for none).
func automaton(pats []string, what string) (*ahocorasick.Automaton, error) {
	if len(pats) == 0 {
		return nil, nil
	}
	a, err := ahocorasick.NewBuilder().AddStrings(pats).Build()
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", what, err)
	}
	return a, nil
}

// Scan returns the matches of every type in data, in order of position,
// each with its confidence; candidates that earn no confidence are dropped.
func (s *Scanner) Scan(data []byte) []Match {
	var hits []hit
	if s.digits {
		hits = s.digitPass(data, make([]hit, 0, 16+len(data)>>9))
	}
	if s.email >= 0 {
		hits = merge(hits, s.emailPass(data, nil))
	}
	if s.anchors != nil {
		custom := s.anchorPass(data, nil)
		slices.SortFunc(custom, byStart)
		hits = merge(hits, custom)
	}
	if len(hits) == 0 {
		return nil
	}
	kws := s.keywordPass(data, hits)
	fp := newFingerprinter(s.key)
	out := make([]Match, 0, len(hits))
	for i, h := range hits {
		if i > 0 && hits[i-1].typ == h.typ && hits[i-1].start == h.start && hits[i-1].end == h.end {
			continue
		}
		c := h.alone
		if h.with > c && near(kws[h.typ], h.start, h.end, s.types[h.typ].Window) {
			c = h.with
		}
		if c == 0 {
			continue
		}
		out = append(out, s.match(data, h, c, fp))
	}
	return out
}

func byStart(a, b hit) int {
	if a.start != b.start {
		return a.start - b.start
	}
	return a.typ - b.typ
}

// merge merges two lists of hits each sorted by byStart.
func merge(a, b []hit) []hit {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]hit, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if byStart(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

func (s *Scanner) match(data []byte, h hit, c Confidence, fp *fingerprinter) Match {
	t := s.types[h.typ]
	return Match{
		Type: t.ID, Start: h.start, End: h.end, Confidence: c,
		Fingerprint: fp.sum(t.ID, normalize(t.ID, data[h.start:h.end])),
	}
}

// Fingerprint is the keyed hash (HMAC-SHA256, 128 bits in hex) of a type
// id and a normalized value.
func Fingerprint(key []byte, typeID string, value []byte) string {
	return newFingerprinter(key).sum(typeID, value)
}

// fingerprinter reuses one keyed hash for the matches of a scan.
type fingerprinter struct {
	h   hash.Hash
	buf []byte
}

func newFingerprinter(key []byte) *fingerprinter {
	return &fingerprinter{h: hmac.New(sha256.New, key)}
}

func (f *fingerprinter) sum(typeID string, value []byte) string {
	f.h.Reset()
	f.h.Write([]byte(typeID))
	f.h.Write([]byte{0})
	f.h.Write(value)
	f.buf = f.h.Sum(f.buf[:0])
	return hex.EncodeToString(f.buf[:16])
}

// normalize drops separators and folds case, so "4111 1111 1111 1111" and
// "4111-1111-1111-1111" are one value.
func normalize(typeID string, v []byte) []byte {
	out := make([]byte, 0, len(v))
	for _, c := range v {
		switch {
		case isDigit(c), isUpper(c):
			out = append(out, c)
		case isLower(c):
			out = append(out, c-'a'+'A')
		case typeID == Email || c >= 0x80:
			out = append(out, c)
		}
	}
	return out
}

// near reports whether a keyword hit lies within win bytes of [start, end).
func near(kws []kwHit, start, end, win int) bool {
	lo := start - win
	i := sort.Search(len(kws), func(i int) bool { return kws[i].end > lo })
	return i < len(kws) && kws[i].start < end+win
}

// caseVariants are the forms of a keyword the anchor pass (over the whole
// text, unfolded) finds: lower case,
// upper case, the first word or every word capitalized ("social security
// number", "SOCIAL SECURITY NUMBER", "Social security number", "Social
// Security Number").
func caseVariants(k string) []string {
	low := lowerASCII(strings.TrimSpace(k))
	if low == "" {
		return nil
	}
	var out []string
	for _, v := range []string{low, strings.ToUpper(low), strings.ToUpper(low[:1]) + low[1:], titleWords(low)} {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// keywordPass finds whole-word keywords (ASCII case-insensitive: each
// window is folded to lower case) in the merged windows around the
// candidates only, and returns them per type.
func (s *Scanner) keywordPass(data []byte, hits []hit) [][]kwHit {
	kws := make([][]kwHit, len(s.types))
	if s.kw == nil {
		return kws
	}
	var buf []byte
	lo, hi := -1, -1
	flush := func() {
		if lo < 0 {
			return
		}
		buf = appendLower(buf[:0], data[lo:hi])
		for _, m := range s.kw.FindAllOverlapping(buf) {
			st, en := lo+m.Start, lo+m.End
			if (st > 0 && isAlnum(data[st-1])) || (en < len(data) && isAlnum(data[en])) {
				continue
			}
			for _, t := range s.kwTypes[m.PatternID] {
				kws[t] = append(kws[t], kwHit{st, en})
			}
		}
	}
	for _, h := range hits {
		a, b := max(0, h.start-s.maxWin), min(len(data), h.end+s.maxWin)
		if a > hi {
			flush()
			lo, hi = a, b
		} else {
			hi = max(hi, b)
		}
	}
	flush()
	return kws
}

// appendLower appends src with ASCII capitals folded, eight bytes at a time.
func appendLower(dst, src []byte) []byte {
	n := len(dst)
	dst = append(dst, src...)
	b := dst[n:]
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// per byte below 0x80: high bit set when 'A' <= c <= 'Z'
		t := x & low7
		upper := (t + ones*(0x80-'A')) &^ (t + ones*(0x80-'Z'-1)) &^ x & high
		binary.LittleEndian.PutUint64(b[i:], x|upper>>2)
	}
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return dst
}

func appendLowerSlow(dst, src []byte) []byte {
	for _, c := range src {
		if isUpper(c) {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func lowerASCII(s string) string { return string(appendLowerSlow(nil, []byte(s))) }
