package pim

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

// The comparisons of the round-trip tests: a calendar or card reduced to
// sorted canonical lines. Only what RFC 5545 and RFC 6350 call equal is
// normalized: content lines unfolded (the parsers do it), property and
// parameter names in upper case (the parsers do it), the order of
// properties and of sibling components (neither RFC gives it a meaning),
// and the case of TYPE values in vCards (RFC 6350 5.6: case-insensitive).

// canonComp is c as sorted lines, children included.
func canonComp(c *ical.Component) []string {
	var out []string
	for name, props := range c.Props {
		for _, p := range props {
			out = append(out, c.Name+"|"+name+paramsString(p.Params)+":"+p.Value)
		}
	}
	var kids []string
	for _, ch := range c.Children {
		kids = append(kids, strings.Join(canonComp(ch), "\n"))
	}
	slices.Sort(kids)
	for _, k := range kids {
		out = append(out, c.Name+">"+strings.ReplaceAll(k, "\n", "\n"+c.Name+">"))
	}
	slices.Sort(out)
	return out
}

func paramsString[M ~map[string][]string](p M) string {
	var b strings.Builder
	for _, k := range sortedKeys(p) {
		fmt.Fprintf(&b, ";%s=%q", k, p[k])
	}
	return b.String()
}

// parseCalendars reads every VCALENDAR of b with go-ical.
func parseCalendars(tb testing.TB, b []byte) []*ical.Calendar {
	tb.Helper()
	dec := ical.NewDecoder(bytes.NewReader(b))
	var out []*ical.Calendar
	for {
		cal, err := dec.Decode()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatalf("go-ical: %v\n%s", err, b)
		}
		out = append(out, cal)
	}
}

// canonCard is a card as sorted lines.
func canonCard(c vcard.Card) []string {
	var out []string
	for k, fields := range c {
		for _, f := range fields {
			p := vcard.Params{}
			for name, vs := range f.Params {
				vs = slices.Clone(vs)
				if name == vcard.ParamType {
					for i := range vs {
						vs[i] = strings.ToLower(vs[i])
					}
					slices.Sort(vs)
				}
				p[name] = vs
			}
			out = append(out, f.Group+"."+k+paramsString(p)+":"+f.Value)
		}
	}
	slices.Sort(out)
	return out
}

// checkLines asserts RFC 5545 3.1 / RFC 6350 3.2 line rules: CRLF only,
// at most 75 octets, no broken UTF-8.
func checkLines(tb testing.TB, b []byte) {
	tb.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) || bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) || bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) {
		tb.Fatalf("bare CR or LF, or no final CRLF: %q", b)
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
		if len(l) > 75 || !utf8.Valid(l) {
			tb.Fatalf("line of %d octets or broken UTF-8: %q", len(l), l)
		}
	}
}

// diff reports the lines only in want and only in got.
func diff(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
