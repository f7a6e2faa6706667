package pim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// ProductID names Holdfast in the iCalendar objects it makes.
const ProductID = "-//Holdfast//eDiscovery export//EN"

// OriginalICS is the OriginalType of events read from iCalendar: their
// Calendar is the original.
const OriginalICS = "text/calendar"

// calendarBegin finds the VCALENDAR objects of a file, to tell a clean end
// from a truncated one (go-ical's decoder answers io.EOF for both).
var calendarBegin = regexp.MustCompile(`(?im)^BEGIN:VCALENDAR\r?$`)

// EventsFromICS reads iCalendar data (one or more VCALENDAR objects) as
// calendar objects, one per UID: every component with that UID (the
// series, its exceptions, their alarms) with the VTIMEZONEs they name and
// the VCALENDAR's own properties. A component without a UID gets one
// derived from its content. stamp is the DTSTAMP of components that lack
// one (the file's modification time).
//
// What go-ical's strict writer refuses is kept under another name rather
// than dropped: a second instance of a property allowed once becomes
// X-HOLDFAST-<NAME>, a DURATION beside DTEND becomes X-HOLDFAST-DURATION,
// a component nested where RFC 5545 allows none becomes an
// X-HOLDFAST-COMPONENT property holding its text, and a component that
// still cannot be written (a VTIMEZONE without TZID) is renamed
// X-HOLDFAST-<NAME>. Carriage returns inside a line and double quotes
// inside a parameter value are dropped. Bad data is holdfast.ErrInvalid.
func EventsFromICS(b []byte, stamp time.Time) (evs []storage.Event, err error) {
	defer func() {
		// go-ical's decoder panics on some malformed parameters
		// (`A;B="c"d:`, `A;B=c` without a value).
		if r := recover(); r != nil {
			evs, err = nil, fmt.Errorf("%w: iCalendar: malformed content line", holdfast.ErrInvalid)
		}
	}()
	b = utf8Text(b)
	want := len(calendarBegin.FindAllIndex(b, -1))
	if want == 0 {
		return nil, fmt.Errorf("%w: not an iCalendar file (no BEGIN:VCALENDAR)", holdfast.ErrInvalid)
	}
	var objs []*object
	byUID := map[string]*object{}
	dec := ical.NewDecoder(bytes.NewReader(b))
	for n := 0; ; n++ {
		cal, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			if n < want {
				return nil, fmt.Errorf("%w: iCalendar: calendar %d is truncated", holdfast.ErrInvalid, n+1)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: iCalendar: %v", holdfast.ErrInvalid, err)
		}
		objs = split(cal, objs, byUID)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%w: iCalendar: no component", holdfast.ErrInvalid)
	}
	for _, o := range objs {
		ev, err := o.event(stamp)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// object is one calendar object being assembled: its UID, the calendar
// properties, its components and the time zones they use.
type object struct {
	uid   string
	props ical.Props
	comps []*ical.Component
	tzs   []*ical.Component
}

// split adds the components of cal to the objects of their UIDs.
func split(cal *ical.Calendar, objs []*object, byUID map[string]*object) []*object {
	tzs := map[string]*ical.Component{}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			if id := c.Props.Get(ical.PropTimezoneID); id != nil {
				tzs[id.Value] = c
			}
		}
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		uid := ""
		if p := c.Props.Get(ical.PropUID); p != nil {
			uid = unescape(p.Value)
		}
		if uid == "" {
			uid = contentID(c)
			if hasUID(c.Name) {
				c.Props.SetText(ical.PropUID, uid)
			}
		}
		o := byUID[uid]
		if o == nil {
			o = &object{uid: uid, props: cloneProps(cal.Props)}
			byUID[uid] = o
			objs = append(objs, o)
		}
		o.comps = append(o.comps, c)
		for _, id := range tzidsOf(c) {
			if tz := tzs[id]; tz != nil && !slices.Contains(o.tzs, tz) {
				o.tzs = append(o.tzs, tz)
			}
		}
	}
	return objs
}

// hasUID reports whether RFC 5545 requires a UID in the component.
func hasUID(name string) bool {
	switch name {
	case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		return true
	}
	return false
}

func cloneProps(p ical.Props) ical.Props {
	out := ical.Props{}
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

// tzidsOf returns the TZID parameters used in c and its children.
func tzidsOf(c *ical.Component) []string {
	var out []string
	for _, props := range c.Props {
		for _, p := range props {
			if id := p.Params.Get(ical.PropTimezoneID); id != "" {
				out = append(out, id)
			}
		}
	}
	for _, ch := range c.Children {
		out = append(out, tzidsOf(ch)...)
	}
	return out
}

// contentID is a UID for a component that has none: a hash of its text.
func contentID(c *ical.Component) string {
	var buf bytes.Buffer
	writeRaw(&buf, c)
	return contentIDBytes(buf.Bytes())
}

func contentIDBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// writeRaw writes c without go-ical's checks, for hashing only.
func writeRaw(w *bytes.Buffer, c *ical.Component) {
	fmt.Fprintf(w, "BEGIN:%s\n", c.Name)
	for _, name := range sortedKeys(c.Props) {
		for _, p := range c.Props[name] {
			fmt.Fprintf(w, "%s;%v:%s\n", name, p.Params, p.Value)
		}
	}
	for _, ch := range c.Children {
		writeRaw(w, ch)
	}
	fmt.Fprintf(w, "END:%s\n", c.Name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// event is the object as a storage.Event: the calendar text, and the
// summary fields of its main component.
func (o *object) event(stamp time.Time) (storage.Event, error) {
	cal := ical.NewCalendar()
	cal.Props = o.props
	cal.Children = append(slices.Clone(o.tzs), o.comps...)
	text, err := encodeCalendar(cal, o.uid, stamp)
	if err != nil {
		return storage.Event{}, err
	}
	ev := summarize(cal, o.uid)
	ev.Calendar, ev.OriginalType = string(text), OriginalICS
	return ev, nil
}

// encodeCalendar repairs cal where go-ical's writer would refuse it (see
// EventsFromICS) and writes it, folded.
func encodeCalendar(cal *ical.Calendar, uid string, stamp time.Time) ([]byte, error) {
	repair(cal.Component, uid, stamp)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("%w: iCalendar object %q: %v", holdfast.ErrInvalid, uid, err)
	}
	return Fold(buf.Bytes()), nil
}

// RenderCalendar writes a stored calendar object (storage.Event.Calendar)
// as an .ics file: parsed and written by go-ical, folded at 75 octets with
// CRLF. stamp is the DTSTAMP of a component that has none.
func RenderCalendar(text string, stamp time.Time) ([]byte, error) {
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		return nil, fmt.Errorf("%w: stored calendar: %v", storage.ErrDamaged, err)
	}
	uid := ""
	for _, c := range cal.Children {
		if p := c.Props.Get(ical.PropUID); p != nil && uid == "" {
			uid = unescape(p.Value)
		}
	}
	return encodeCalendar(cal, uid, stamp)
}

// once are the properties go-ical writes at most once in a component.
var once = map[string]bool{}

func init() {
	for _, n := range []string{ical.PropCalendarScale, ical.PropMethod, ical.PropUID, ical.PropLastModified, ical.PropURL,
		ical.PropRefreshInterval, ical.PropSource, ical.PropColor, ical.PropProductID, ical.PropVersion, ical.PropDateTimeStamp,
		ical.PropDateTimeStart, ical.PropClass, ical.PropCreated, ical.PropDescription, ical.PropGeo, ical.PropLocation,
		ical.PropOrganizer, ical.PropPriority, ical.PropRecurrenceRule, ical.PropSequence, ical.PropStatus, ical.PropSummary,
		ical.PropTransparency, ical.PropRecurrenceID, ical.PropDateTimeEnd, ical.PropDuration, ical.PropCompleted,
		ical.PropPercentComplete, ical.PropDue, ical.PropContact, ical.PropTimezoneID, ical.PropTimezoneURL,
		ical.PropTimezoneOffsetTo, ical.PropTimezoneOffsetFrom} {
		once[n] = true
	}
}

// children are the components RFC 5545 allows inside each component.
var children = map[string][]string{
	ical.CompEvent: {ical.CompAlarm}, ical.CompToDo: {ical.CompAlarm}, ical.CompJournal: nil, ical.CompFreeBusy: nil,
	ical.CompTimezone: {ical.CompTimezoneStandard, ical.CompTimezoneDaylight},
}

// repair makes c writable by go-ical (see EventsFromICS), children first.
func repair(c *ical.Component, uid string, stamp time.Time) {
	c.Name = cleanName(c.Name)
	for name, props := range c.Props {
		if clean := cleanName(name); clean != name {
			delete(c.Props, name)
			if clean == "" {
				clean = "X-HOLDFAST-PROPERTY"
			}
			for i := range props {
				props[i].Name = clean
			}
			c.Props[clean] = append(c.Props[clean], props...)
		}
	}
	for _, props := range c.Props {
		for i := range props {
			props[i].Value = strings.ReplaceAll(strings.ToValidUTF8(props[i].Value, "\uFFFD"), "\r", "")
			for _, vs := range props[i].Params {
				for j := range vs {
					vs[j] = strings.NewReplacer("\r", "", `"`, "").Replace(vs[j])
				}
			}
		}
	}
	for _, ch := range c.Children {
		repair(ch, uid, stamp)
	}
	switch {
	case c.Name == ical.CompCalendar:
		setMissing(c, ical.PropProductID, ProductID)
		setMissing(c, ical.PropVersion, "2.0")
	case hasUID(c.Name):
		setMissing(c, ical.PropUID, escape(uid))
		setMissing(c, ical.PropDateTimeStamp, stampOf(c, stamp).UTC().Format("20060102T150405Z"))
	}
	if writable(c) {
		return
	}
	for name, props := range c.Props {
		if once[name] && len(props) > 1 {
			c.Props[name] = props[:1]
			for _, p := range props[1:] {
				p.Name = "X-HOLDFAST-" + name
				c.Props.Add(&p)
			}
		}
	}
	if c.Props.Get(ical.PropDuration) != nil && (c.Props.Get(ical.PropDateTimeEnd) != nil || c.Props.Get(ical.PropDue) != nil) {
		renameProp(c, ical.PropDuration)
	}
	if c.Name == ical.CompToDo && c.Props.Get(ical.PropDuration) != nil && c.Props.Get(ical.PropDateTimeStart) == nil {
		renameProp(c, ical.PropDuration)
	}
	if allowed, ok := children[c.Name]; ok {
		kept := c.Children[:0]
		for _, ch := range c.Children {
			if slices.Contains(allowed, ch.Name) {
				kept = append(kept, ch)
				continue
			}
			var buf bytes.Buffer
			if err := ical.NewEncoder(&buf).Encode(&ical.Calendar{Component: ch}); err == nil {
				c.Props.Add(&ical.Prop{Name: "X-HOLDFAST-COMPONENT", Params: ical.Params{}, Value: escape(buf.String())})
			}
		}
		c.Children = kept
	}
	if !writable(c) && c.Name != ical.CompCalendar {
		c.Name = "X-HOLDFAST-" + c.Name
	}
}

func renameProp(c *ical.Component, name string) {
	for _, p := range c.Props[name] {
		p.Name = "X-HOLDFAST-" + name
		c.Props.Add(&p)
	}
	delete(c.Props, name)
}

func setMissing(c *ical.Component, name, value string) {
	if len(c.Props[name]) == 0 {
		c.Props[name] = []ical.Prop{{Name: name, Params: ical.Params{}, Value: value}}
	}
}

// stampOf is the DTSTAMP for a component without one: its LAST-MODIFIED,
// else CREATED, else stamp.
func stampOf(c *ical.Component, stamp time.Time) time.Time {
	for _, name := range []string{ical.PropLastModified, ical.PropCreated} {
		if p := c.Props.Get(name); p != nil {
			if t, err := p.DateTime(time.UTC); err == nil && !t.IsZero() {
				return t
			}
		}
	}
	if stamp.IsZero() {
		stamp = time.Unix(0, 0)
	}
	return stamp
}

func writable(c *ical.Component) bool {
	return ical.NewEncoder(io.Discard).Encode(&ical.Calendar{Component: c}) == nil
}

// escape and unescape are TEXT escaping (RFC 5545 3.3.11).
var (
	textEscaper   = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	textUnescaper = strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n", `\N`, "\n")
)

func escape(s string) string   { return textEscaper.Replace(s) }
func unescape(s string) string { return textUnescaper.Replace(s) }

// cleanName is a property or component name without control characters.
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
