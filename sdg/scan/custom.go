package scan

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Limits of a custom type.
const (
	MaxPatternLen = 512
	MaxKeywords   = 50
	MaxKeywordLen = 64
	maxSpan       = 256 // how far a prefix-anchored pattern may reach
)

// FieldError names the field of a custom type that is wrong.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// custom is a compiled custom type.
type custom struct {
	re       *regexp.Regexp // finds the pattern in a window
	anchored *regexp.Regexp // the pattern at the anchor's position
	prefix   string         // the pattern's literal prefix, if any
	validate func([]byte) bool
}

// anchorRef says what an anchor literal is: a custom type's prefix, or one
// of its keywords.
type anchorRef struct {
	typ     int
	keyword bool
}

// Check validates a custom type the way New does, naming the field at fault.
func Check(t Type) error {
	_, err := compileCustom(t)
	return err
}

func compileCustom(t Type) (*custom, error) {
	if t.Pattern == "" {
		return nil, &FieldError{"pattern", "a custom type needs a pattern"}
	}
	if len(t.Pattern) > MaxPatternLen {
		return nil, &FieldError{"pattern", fmt.Sprintf("at most %d bytes", MaxPatternLen)}
	}
	re, err := regexp.Compile(t.Pattern)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, &FieldError{"pattern", fmt.Sprintf("not a valid regular expression (%s)", se.Code)}
		}
		return nil, &FieldError{"pattern", "not a valid regular expression"}
	}
	if re.MatchString("") {
		return nil, &FieldError{"pattern", "matches empty text"}
	}
	if len(t.Keywords) > MaxKeywords {
		return nil, &FieldError{"keywords", fmt.Sprintf("at most %d", MaxKeywords)}
	}
	for _, k := range t.Keywords {
		if strings.TrimSpace(k) == "" || len(k) > MaxKeywordLen {
			return nil, &FieldError{"keywords", fmt.Sprintf("each keyword is 1 to %d bytes and not blank", MaxKeywordLen)}
		}
	}
	prefix, _ := re.LiteralPrefix()
	if prefix == "" && len(t.Keywords) == 0 {
		return nil, &FieldError{"pattern", "a custom type needs a literal to search for first: a fixed prefix in the pattern or at least one keyword"}
	}
	if t.Alone != 0 && !t.Alone.Valid() {
		return nil, &FieldError{"alone", "0, 65, 75 or 85"}
	}
	if !t.WithKeyword.Valid() || t.WithKeyword < t.Alone {
		return nil, &FieldError{"with_keyword", "65, 75 or 85, and not below alone"}
	}
	if t.Window < 0 || t.Window > 2000 {
		return nil, &FieldError{"window", "0 (the default, 300) to 2000"}
	}
	c := &custom{re: re, anchored: regexp.MustCompile(`^(?:` + t.Pattern + `)`), prefix: prefix}
	switch t.Validator {
	case "", ValidatorNone:
	case ValidatorLuhn:
		c.validate = func(v []byte) bool { return luhn(digitsOf(v)) }
	case ValidatorMod97:
		c.validate = mod97
	default:
		return nil, &FieldError{"validator", "none, luhn or mod97"}
	}
	return c, nil
}

func digitsOf(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for _, c := range v {
		if isDigit(c) {
			out = append(out, c)
		}
	}
	return out
}

// buildAnchors puts every custom type's literals in one automaton: its
// prefix (exact), or else its keywords (in the forms of caseVariants).
func (s *Scanner) buildAnchors() error {
	var pats []string
	for ti := range s.types {
		c, ok := s.customs[ti]
		if !ok {
			continue
		}
		if c.prefix != "" {
			pats = append(pats, c.prefix)
			s.anchorRefs = append(s.anchorRefs, anchorRef{typ: ti})
			continue
		}
		for _, k := range s.types[ti].Keywords {
			for _, v := range caseVariants(k) {
				pats = append(pats, v)
				s.anchorRefs = append(s.anchorRefs, anchorRef{typ: ti, keyword: true})
			}
		}
	}
	a, err := automaton(pats, "custom types")
	s.anchors = a
	return err
}

// titleWords capitalizes every word: "loyalty card" becomes "Loyalty Card".
func titleWords(s string) string {
	b := []byte(s)
	for i := range b {
		if isLower(b[i]) && (i == 0 || b[i-1] == ' ') {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// anchorPass runs each custom type's pattern only where its literal is:
// from a prefix, or in the window around a keyword.
func (s *Scanner) anchorPass(data []byte, hits []hit) []hit {
	for _, m := range s.anchors.FindAllOverlapping(data) {
		ref := s.anchorRefs[m.PatternID]
		c := s.customs[ref.typ]
		t := s.types[ref.typ]
		if !ref.keyword {
			w := data[m.Start:min(len(data), m.Start+maxSpan)]
			if loc := c.anchored.FindIndex(w); loc != nil {
				hits = s.addCustom(data, hits, ref.typ, c, t, m.Start+loc[0], m.Start+loc[1])
			}
			continue
		}
		lo, hi := max(0, m.Start-t.Window), min(len(data), m.End+t.Window)
		for _, loc := range c.re.FindAllIndex(data[lo:hi], -1) {
			hits = s.addCustom(data, hits, ref.typ, c, t, lo+loc[0], lo+loc[1])
		}
	}
	return hits
}

func (s *Scanner) addCustom(data []byte, hits []hit, ti int, c *custom, t Type, a, b int) []hit {
	if a == b || b-a > maxSpan || (c.validate != nil && !c.validate(normalize(t.ID, data[a:b]))) {
		return hits
	}
	return append(hits, hit{typ: ti, start: a, end: b, alone: t.Alone, with: t.WithKeyword})
}
