package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
)

// Strict input. Every string a request carries (JSON members and array
// elements, form values, query parameters and path ids) passes one check
// before a handler sees it: it is valid UTF-8 (encoding/json would
// silently turn bad bytes and lone surrogates into U+FFFD), holds no
// control character (C0, DEL, C1), and is of bounded length. A failure is
// a 400 whose fields name each offending string; nothing has been read
// into the domain yet, so nothing changes.
//
// Tab, line feed and carriage return are text in the few members that are
// multi-line by nature (descriptions, an IdP's metadata XML). A backed-up
// item's path and folder are data, not names: POSIX allows every byte but
// NUL in a file name, so only NUL is refused there.

// Default bounds of strings that have no rule of their own.
const (
	maxStringRunes = 4096
	maxIDBytes     = 256  // a path id
	maxQueryRunes  = 1024 // a query parameter
)

// stringRule is how one member is checked.
type stringRule struct {
	maxRunes int
	// controls says which control characters are allowed: "" none,
	// "multiline" tab, LF and CR, "data" every one but NUL.
	controls string
}

// stringRules are the members with a rule other than the default, by
// member name (the last name of the path).
var stringRules = map[string]stringRule{
	"description":  {maxRunes: maxStringRunes, controls: "multiline"},
	"metadata_xml": {maxRunes: maxBodyBytes, controls: "multiline"},
	"SAMLResponse": {maxRunes: maxACSBytes},
	"path":         {maxRunes: maxStringRunes, controls: "data"},
	"folder":       {maxRunes: maxStringRunes, controls: "data"},
	// the sample text of a sensitive data type's test
	"sample": {maxRunes: 64 << 10, controls: "multiline"},
}

// ruleFor returns the rule of the member at field ("items[3].path").
func ruleFor(field string) stringRule {
	name := field
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if r, ok := stringRules[name]; ok {
		return r
	}
	return stringRule{maxRunes: maxStringRunes}
}

// badInput is the 400 of strings that failed the check: it matches
// errBadRequest, and its ValidationError carries the fields.
func badInput(v *holdfast.ValidationError) error {
	return fmt.Errorf("%w: %w", errBadRequest, v)
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// checkString checks a decoded string against rule and returns what is
// wrong with it, or "".
func checkString(s string, rule stringRule) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	n := 0
	for _, r := range s {
		n++
		if !isControl(r) {
			continue
		}
		switch {
		case rule.controls == "data" && r != 0:
		case rule.controls == "multiline" && (r == '\t' || r == '\n' || r == '\r'):
		default:
			return fmt.Sprintf("must not contain control characters (U+%04X)", r)
		}
	}
	if n > rule.maxRunes {
		return fmt.Sprintf("must be at most %d characters long", rule.maxRunes)
	}
	return ""
}

// jsonFrame is one open object or array while scanning JSON.
type jsonFrame struct {
	array bool
	key   string // the current member of an object
	index int    // the current element of an array
}

// maxFieldErrors caps the fields one refusal lists.
const maxFieldErrors = 20

// checkJSON checks every string of raw, which must be well-formed JSON
// (json.Valid), and returns a badInput error naming each bad one by
// its path (name, emails[0].value), or nil. It reads the bytes themselves,
// so invalid UTF-8 and lone surrogate escapes are seen before any decoder
// replaces them.
func checkJSON(raw []byte) error {
	var (
		v     holdfast.ValidationError
		stack []jsonFrame
	)
	for i := 0; i < len(raw) && len(v.Fields) < maxFieldErrors; {
		switch raw[i] {
		case '{':
			stack = append(stack, jsonFrame{})
		case '[':
			stack = append(stack, jsonFrame{array: true})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].array {
				stack[n-1].index++
			}
		case '"':
			i = checkJSONString(raw, i, stack, &v)
			continue
		}
		i++
	}
	if err := v.Err(); err != nil {
		return badInput(&v)
	}
	return nil
}

// checkJSONString checks the string that opens at raw[i]: a member name
// becomes the key of the innermost object, a value is checked by the rule
// of its path; refusals go into v. It returns the index after the string
// (after the colon, for a member name).
func checkJSONString(raw []byte, i int, stack []jsonFrame, v *holdfast.ValidationError) int {
	end := stringEnd(raw, i+1)
	s, ok := unquoteJSON(raw[i+1 : end])
	i = end + 1
	j := i
	for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
		j++
	}
	if n := len(stack); j < len(raw) && raw[j] == ':' && n > 0 && !stack[n-1].array {
		// A member name.
		if !ok || checkString(s, stringRule{maxRunes: maxStringRunes}) != "" {
			v.Add(jsonPath(stack[:n-1]), "has a member name that is not valid text")
			s = "?"
		}
		stack[n-1].key = s
		return j + 1
	}
	field := jsonPath(stack)
	if !ok {
		v.Add(field, "must be valid UTF-8")
	} else if msg := checkString(s, ruleFor(field)); msg != "" {
		v.Add(field, "%s", msg)
	}
	return i
}

// stringEnd returns the index of the quote that closes the JSON string
// starting at raw[start] (just after its opening quote).
func stringEnd(raw []byte, start int) int {
	for i := start; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(raw)
}

// unquoteJSON decodes the body of a JSON string literal. ok is false when
// it holds invalid UTF-8 or a surrogate escape that is not part of a pair.
func unquoteJSON(lit []byte) (s string, ok bool) {
	if !utf8.Valid(lit) {
		return "", false
	}
	if !strings.Contains(string(lit), `\`) {
		return string(lit), true
	}
	var b strings.Builder
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c != '\\' || i+1 >= len(lit) {
			b.WriteByte(c)
			continue
		}
		i++
		if lit[i] != 'u' {
			b.WriteByte(simpleEscape(lit[i]))
			continue
		}
		r, n, ok := unicodeEscape(lit, i)
		if !ok {
			return "", false
		}
		i += n
		b.WriteRune(r)
	}
	return b.String(), true
}

// simpleEscape is the byte the escape \c stands for (c not 'u').
func simpleEscape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	default: // \" \\ \/
		return c
	}
}

// unicodeEscape decodes the \u escape whose 'u' is lit[i], with the low
// half that must follow a high surrogate; n is how many bytes after the
// 'u' it used. ok is false for a malformed escape or a lone surrogate.
func unicodeEscape(lit []byte, i int) (r rune, n int, ok bool) {
	r, n = hex4(lit[i+1:])
	if n == 0 {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, n, true
	}
	// Only a high surrogate followed by an escaped low one is a
	// character; anything else is what json makes U+FFFD of.
	i += n
	if r >= 0xdc00 || i+2 >= len(lit) || lit[i+1] != '\\' || lit[i+2] != 'u' {
		return 0, 0, false
	}
	r2, n2 := hex4(lit[i+3:])
	if n2 == 0 || r2 < 0xdc00 || r2 > 0xdfff {
		return 0, 0, false
	}
	return utf16.DecodeRune(r, r2), n + 2 + n2, true
}

// hex4 parses the four hex digits of a \u escape; n is 4, or 0 when they
// are not there.
func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), 4
}

// jsonPath names the value the frames point at: name, emails[0].value.
func jsonPath(stack []jsonFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			fmt.Fprintf(&b, "[%d]", f.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	return b.String()
}

// checkRequestStrings checks the query parameters and path ids of r, the
// strings every route takes before its body.
func checkRequestStrings(r *http.Request) error {
	var v holdfast.ValidationError
	for _, name := range pathWildcards(infoFrom(r.Context()).route) {
		if msg := checkString(r.PathValue(name), stringRule{maxRunes: maxIDBytes}); msg != "" {
			v.Add(name, "%s", msg)
		} else if len(r.PathValue(name)) > maxIDBytes {
			v.Add(name, "must be at most %d bytes long", maxIDBytes)
		}
	}
	for name, values := range r.URL.Query() {
		if checkString(name, stringRule{maxRunes: maxQueryRunes}) != "" {
			v.Add("query", "has a parameter name that is not valid text")
			continue
		}
		for _, val := range values {
			if msg := checkString(val, stringRule{maxRunes: maxQueryRunes}); msg != "" {
				v.Add(name, "%s", msg)
				break
			}
		}
	}
	if err := v.Err(); err != nil {
		return badInput(&v)
	}
	return nil
}

// checkForm checks the values of a parsed url-encoded form.
func checkForm(form map[string][]string) error {
	var v holdfast.ValidationError
	for name, values := range form {
		if checkString(name, stringRule{maxRunes: maxQueryRunes}) != "" {
			v.Add("form", "has a field name that is not valid text")
			continue
		}
		for _, val := range values {
			if msg := checkString(val, ruleFor(name)); msg != "" {
				v.Add(name, "%s", msg)
				break
			}
		}
	}
	if err := v.Err(); err != nil {
		return badInput(&v)
	}
	return nil
}

// pathWildcards returns the wildcard names of a mux pattern
// ("GET /api/v1/users/{id}" -> id).
func pathWildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" {
			names = append(names, name)
		}
		pattern = pattern[i+j+1:]
	}
}
