package scan

import (
	"bytes"
	"encoding/binary"
)

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

// SWAR constants: a byte of ones, and the high bit of every byte.
const (
	ones uint64 = 0x0101010101010101
	high uint64 = 0x8080808080808080
	low7 uint64 = 0x7f7f7f7f7f7f7f7f
)

// hasDigit reports whether any of the eight bytes of x is an ASCII digit:
// for each byte below 0x80, 0x2f < b < 0x3a, computed on all eight at once.
func hasDigit(x uint64) bool {
	t := x & low7
	return (ones*(127+0x3a)-t)&^x&(t+ones*(127-0x2f))&high != 0
}

// nextDigit returns the index of the first ASCII digit in data at or after
// i, or len(data): the prefilter of the digit-based detectors, eight bytes
// at a time.
func nextDigit(data []byte, i int) int {
	for i+8 <= len(data) && !hasDigit(binary.LittleEndian.Uint64(data[i:])) {
		i += 8
	}
	for i < len(data) && data[i]-'0' > 9 {
		i++
	}
	return i
}
