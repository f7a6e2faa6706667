package pim

import (
	"bytes"
	"unicode/utf8"
)

// maxLineOctets is the longest content line RFC 5545 (3.1) and RFC 6350
// (3.2) want, without its CRLF.
const maxLineOctets = 75

// Fold rewrites CRLF-separated content lines so none is longer than 75
// octets: a long line continues on lines that start with one space, and a
// break never falls inside a UTF-8 sequence. A bare LF also ends a line.
// The result always uses CRLF.
func Fold(in []byte) []byte {
	out := make([]byte, 0, len(in)+len(in)/64)
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		var line []byte
		if i < 0 {
			line, in = in, nil
		} else {
			line, in = in[:i], in[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		limit := maxLineOctets
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			if cut == 0 {
				cut = limit // not UTF-8: no rune to keep whole, and no end otherwise
			}
			out = append(out, line[:cut]...)
			out = append(out, '\r', '\n', ' ')
			line = line[cut:]
			limit = maxLineOctets - 1 // the leading space counts
		}
		out = append(out, line...)
		out = append(out, '\r', '\n')
	}
	return out
}
