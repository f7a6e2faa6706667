package pim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxName is the longest file name FileName returns, without extension.
const maxName = 200

// FileName returns the file name (without extension) of the calendar
// object or card with this UID: the UID when every byte is a letter, a
// digit or one of "@._+=-" and it does not start with ".", otherwise each
// other byte (and "%") as %XX, which keeps distinct UIDs distinct. A name
// over 200 bytes is cut to 160 bytes followed by "~" and 32 hex digits of
// the UID's SHA-256. The empty UID is "%".
func FileName(uid string) string {
	if uid == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if nameByte(c) && (i > 0 || c != '.') {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	name := b.String()
	if len(name) > maxName {
		sum := sha256.Sum256([]byte(uid))
		name = name[:160] + "~" + hex.EncodeToString(sum[:16])
	}
	return name
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@._+=-", c) >= 0
}

// utf8Text returns b as UTF-8: unchanged when it is valid UTF-8 (as RFC
// 5545 and RFC 6350 require), else read as ISO-8859-1, which maps every
// byte to a character and so loses nothing.
func utf8Text(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
