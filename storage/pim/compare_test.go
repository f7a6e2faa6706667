package pim

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// parseCalendars reads every VCALENDAR of b with go-ical.
func parseCalendars(tb testing.TB, b []byte) []*ical.Calendar {
	tb.Helper()
	cals, err := decodeCalendars(b)
	if err != nil {
		tb.Fatalf("go-ical: %v\n%s", err, b)
	}
	return cals
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
