package pim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
)

// OriginalGraph is the OriginalType of items read from Microsoft Graph
// JSON, which Original keeps.
const OriginalGraph = "application/json"

// graphField is the X- property that keeps a Graph field no standard
// property holds exactly; its X-FIELD parameter names the field and its
// value is the field's JSON.
const graphField = "X-HOLDFAST-GRAPH"

// graphList accepts one Graph object, an array of them, or a Graph
// collection page ({"value": [...]}).
func graphList(b []byte) ([]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	var list []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%w: Graph JSON: %v", holdfast.ErrInvalid, err)
		}
		return list, nil
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, fmt.Errorf("%w: Graph JSON: %v", holdfast.ErrInvalid, err)
	}
	if page.Value != nil {
		return page.Value, nil
	}
	return []json.RawMessage{b}, nil
}

// fields is a Graph object's fields not yet mapped to a property.
type fields map[string]json.RawMessage

// decodeGraph decodes raw into v and returns its fields; kind and i name
// it in errors.
func decodeGraph(raw json.RawMessage, v any, kind string, i int) (fields, error) {
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%w: Graph %s %d: %v", holdfast.ErrInvalid, kind, i, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%w: Graph %s %d: %v", holdfast.ErrInvalid, kind, i, err)
	}
	return f, nil
}

// done marks fields as mapped.
func (f fields) done(names ...string) {
	for _, n := range names {
		delete(f, n)
	}
}

// rest calls add for every field left, by name, with its compact JSON.
func (f fields) rest(add func(name, value string)) {
	for _, k := range sortedKeys(f) {
		var buf bytes.Buffer
		if json.Compact(&buf, f[k]) != nil {
			buf.Reset()
			buf.Write(f[k])
		}
		add(k, buf.String())
	}
}

type graphEmail struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type graphDateTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// local reads Graph's dateTimeTimeZone: a local time in a zone. ok is
// false when the zone is not one Go knows (Windows names): then t is the
// local time, in UTC only by name.
func (d graphDateTime) local() (t time.Time, ok bool) {
	if d.DateTime == "" {
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(d.TimeZone)
	ok = err == nil
	if !ok {
		loc = time.UTC
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t, ok
		}
	}
	return time.Time{}, false
}

func graphTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}
