package authz

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends the JSON form of v, a resolved input: maps with string
// keys, slices, strings, booleans, numbers and nil, as the resolver builds
// them (callers' documents pass canonicalDoc first). Object keys keep map
// order (the policy reads objects, not text). The text must mean to the
// Wasm module exactly what ast.InterfaceToValue(v) means to topdown; where
// that is not certain (invalid UTF-8, numbers outside float64), it is an
// error, and topdown decides instead. Other Go types are read as OPA reads
// them: through their JSON form.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, errInvalidUTF8
		}
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("input: unsupported number %v", x)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, errors.New("input: a number outside the JSON grammar or float64")
		}
		return append(b, x...), nil
	case map[string]any:
		b = append(b, '{')
		first := true
		for k, e := range x {
			if !first {
				b = append(b, ',')
			}
			first = false
			if !utf8.ValidString(k) {
				return nil, errInvalidUTF8
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if !utf8.ValidString(e) {
				return nil, errInvalidUTF8
			}
			b = appendJSONString(b, e)
		}
		return append(b, ']'), nil
	}
	// Named string types without a JSON or text form of their own
	// (holdfast.ResourceType and the like) are their string.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String && !hasMarshaler(rv.Type()) {
		return appendJSON(b, rv.String())
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var plain any
	if err := dec.Decode(&plain); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	return appendJSON(b, plain)
}

var errInvalidUTF8 = errors.New("input: a string is not valid UTF-8")

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func hasMarshaler(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does (appendJSON refuses it before).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
