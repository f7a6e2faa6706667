package sqlstore

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// jsonText encodes a JSON-valued column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// fromJSONObject decodes a JSON object column into v, a pointer to a
// struct. Empty objects, the common case for settings and scopes, cost
// nothing: decoding "{}" into a struct leaves it as it is.
func fromJSONObject(text string, v any) error {
	switch text {
	case "", "null", "{}":
		return nil
	}
	return json.Unmarshal([]byte(text), v)
}

// fromJSONStrings decodes a JSON array of strings column into v, as
// json.Unmarshal does ("null" leaves v nil, "[]" makes it empty). Arrays as
// json.Marshal writes plain strings, which rights, scopes and workloads
// are, are split in place without the reflection of encoding/json; the
// strings share text's memory.
func fromJSONStrings(text string, v *[]string) error {
	switch text {
	case "", "null":
		return nil
	case "[]":
		*v = []string{}
		return nil
	}
	if out, ok := splitJSONStrings(text); ok {
		*v = out
		return nil
	}
	return json.Unmarshal([]byte(text), v)
}

// splitJSONStrings parses a non-empty JSON array of strings written without
// white space, escapes or control characters, and reports false for
// anything else (which may still be valid JSON).
func splitJSONStrings(text string) ([]string, bool) {
	if len(text) < 2 || text[0] != '[' || text[len(text)-1] != ']' {
		return nil, false
	}
	rest := text[1 : len(text)-1]
	out := make([]string, 0, strings.Count(rest, `","`)+1)
	for {
		if len(rest) < 2 || rest[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		s := rest[1 : 1+end]
		for i := 0; i < len(s); i++ {
			// A backslash may escape the quote found as the end.
			if c := s[i]; c == '\\' || c < 0x20 {
				return nil, false
			}
		}
		if !utf8.ValidString(s) {
			return nil, false // encoding/json replaces invalid bytes
		}
		out = append(out, s)
		rest = rest[2+end:]
		if rest == "" {
			return out, true
		}
		if rest[0] != ',' {
			return nil, false
		}
		rest = rest[1:]
	}
}
