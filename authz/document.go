package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Callers' free-form documents (action properties and the request context)
// reach the policy as they are sent. canonicalDoc bounds them and turns
// them into plain JSON values (string, bool, nil, finite numbers, lists,
// objects), so that every evaluator sees the same document and none has
// to guess at a Go type. Anything else is bad input.
const (
	maxDocDepth   = 32
	maxDocValues  = 1000
	maxDocStrings = 64 << 10 // bytes of strings and keys, in all
)

type docBudget struct {
	values, strBytes int
}

// canonicalDoc returns a canonical copy of m; what names the document in
// errors ("action properties", "context").
func canonicalDoc(what string, m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	var b docBudget
	v, err := b.canonical(m, 1)
	if err != nil {
		return nil, invalid("%s: %v", what, err)
	}
	return v.(map[string]any), nil
}

func (b *docBudget) canonical(v any, depth int) (any, error) {
	if depth > maxDocDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDocDepth)
	}
	if b.values++; b.values > maxDocValues {
		return nil, fmt.Errorf("more than %d values", maxDocValues)
	}
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		return x, b.str(x)
	case json.Number:
		if !validNumber(string(x)) {
			return nil, fmt.Errorf("%q is not a JSON number within float64's range", truncate(string(x)))
		}
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a number", x)
		}
		return x, nil
	case float32:
		return b.canonical(float64(x), depth)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return json.Number(fmt.Sprint(x)), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := b.str(k); err != nil {
				return nil, err
			}
			c, err := b.canonical(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := b.canonical(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		list := make([]any, len(x))
		for i, e := range x {
			list[i] = e
		}
		b.values-- // counted again as the []any
		return b.canonical(list, depth)
	}
	// Any other Go value: its JSON form, as OPA reads such values.
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a %s cannot be sent: %v", reflect.TypeOf(v), err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var plain any
	if err := dec.Decode(&plain); err != nil {
		return nil, fmt.Errorf("a %s cannot be sent: %v", reflect.TypeOf(v), err)
	}
	b.values-- // the value is counted as what it turned into
	return b.canonical(plain, depth)
}

func (b *docBudget) str(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", truncate(s))
	}
	if b.strBytes += len(s); b.strBytes > maxDocStrings {
		return fmt.Errorf("more than %d KiB of text", maxDocStrings>>10)
	}
	return nil
}

// validNumber reports whether s is a JSON number (RFC 8259 grammar) whose
// value is a finite float64.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
