package scan

import (
	"strings"
	"unicode/utf8"
)

// SnippetContext is how many bytes of context a snippet keeps either side.
const SnippetContext = 24

// Redact returns the match [start, end) in its context with the value
// masked: every letter and digit of the match, and of any other span in
// masked (start-sorted) that reaches into the context, becomes '*', every
// digit of the context '#' (a neighbouring number may be sensitive too),
// and line breaks and control characters a space. Separators stay, so the
// shape of the value shows ("***-**-****") but never the value.
func Redact(data []byte, start, end int, masked ...[2]int) string {
	a := max(0, start-SnippetContext)
	b := min(len(data), end+SnippetContext)
	for a < start && !utf8.RuneStart(data[a]) {
		a++
	}
	for b < len(data) && b > end && !utf8.RuneStart(data[b]) {
		b--
	}
	var sb strings.Builder
	sb.Grow(b - a + 8)
	if a > 0 {
		sb.WriteString("…")
	}
	for i := a; i < b; {
		c := data[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(data[i:])
			if (i >= start && i < end) || (len(masked) > 0 && masked[0][0] <= i && i < masked[0][1]) {
				sb.WriteByte('*')
			} else if r == utf8.RuneError && n == 1 {
				sb.WriteByte('?')
			} else {
				sb.Write(data[i : i+n])
			}
			i += n
			continue
		}
		inside := i >= start && i < end
		for len(masked) > 0 && masked[0][1] <= i {
			masked = masked[1:]
		}
		inside = inside || (len(masked) > 0 && masked[0][0] <= i)
		switch {
		case inside && (isAlnum(c) || c == '_' || c == '%' || c == '+'):
			sb.WriteByte('*')
		case isDigit(c):
			sb.WriteByte('#')
		case c < 0x20 || c == 0x7f:
			sb.WriteByte(' ')
		default:
			sb.WriteByte(c)
		}
		i++
	}
	if b < len(data) {
		sb.WriteString("…")
	}
	return sb.String()
}
