package export

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

// rruleValue is what an RRULE value may hold (RFC 5545 3.3.10): anything
// else in stored data is dropped rather than written.
var rruleValue = regexp.MustCompile(`^[A-Za-z0-9=;,:+\-]+$`)

// ICS renders an event stored without its calendar object (items written
// before storage.Event.Calendar existed) as an iCalendar object (RFC
// 5545): VERSION 2.0,
// PRODID, one VEVENT with UID and DTSTAMP; times in UTC (so no VTIMEZONE
// is needed) and all-day events as dates; text escaped and every line
// folded at 75 octets with CRLF. Nothing in the event can start a
// property, parameter or component of its own: text is escaped, and
// parameter values lose quotes and control characters. The output is
// deterministic: DTSTAMP is the event's last modification, else its
// creation, else dtstamp (the item's time). An event with a Calendar is
// rendered by pim.RenderCalendar.
func ICS(ev storage.Event, dtstamp time.Time) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, pim.ProductID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	e := ical.NewEvent()
	uid := clean(ev.UID)
	if uid == "" {
		return nil, fmt.Errorf("export: event without a UID")
	}
	e.Props.SetText(ical.PropUID, uid)
	e.Props.SetDateTime(ical.PropDateTimeStamp, stamp(ev.Modified, ev.Created, dtstamp))
	if !ev.Start.IsZero() {
		if ev.AllDay {
			e.Props.SetDate(ical.PropDateTimeStart, ev.Start.UTC())
		} else {
			e.Props.SetDateTime(ical.PropDateTimeStart, ev.Start.UTC())
		}
	}
	if !ev.End.IsZero() && !ev.Start.IsZero() && !ev.End.Before(ev.Start) {
		if ev.AllDay {
			e.Props.SetDate(ical.PropDateTimeEnd, ev.End.UTC())
		} else {
			e.Props.SetDateTime(ical.PropDateTimeEnd, ev.End.UTC())
		}
	}
	setText := func(name, v string) {
		if v = strings.ReplaceAll(stripControls(v), "\r\n", "\n"); strings.TrimSpace(v) != "" {
			e.Props.SetText(name, strings.ReplaceAll(v, "\r", "\n"))
		}
	}
	setText(ical.PropSummary, ev.Summary)
	setText(ical.PropDescription, ev.Description)
	setText(ical.PropLocation, ev.Location)
	switch strings.ToLower(ev.Status) {
	case "confirmed", "tentative", "cancelled":
		e.Props.SetText(ical.PropStatus, strings.ToUpper(ev.Status))
	}
	if !ev.Created.IsZero() {
		e.Props.SetDateTime(ical.PropCreated, ev.Created.UTC())
	}
	if !ev.Modified.IsZero() {
		e.Props.SetDateTime(ical.PropLastModified, ev.Modified.UTC())
	}
	if ev.Organizer != nil && ev.Organizer.Email != "" {
		e.Props.Add(person(ical.PropOrganizer, *ev.Organizer))
	}
	for _, a := range ev.Attendees {
		if a.Email != "" {
			e.Props.Add(person(ical.PropAttendee, a))
		}
	}
	for _, r := range ev.Recurrence {
		if rruleValue.MatchString(r) {
			p := ical.NewProp(ical.PropRecurrenceRule)
			p.SetValueType(ical.ValueRecurrence)
			p.Value = r
			e.Props.Add(p)
		}
	}
	cal.Children = append(cal.Children, e.Component)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("export: event %s: %w", uid, err)
	}
	return pim.Fold(buf.Bytes()), nil
}

// partstat maps an attendee's answer to its PARTSTAT value.
var partstat = map[string]string{"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE",
	"needs-action": "NEEDS-ACTION", "none": "NEEDS-ACTION", "delegated": "DELEGATED"}

func person(name string, p storage.Person) *ical.Prop {
	prop := ical.NewProp(name)
	prop.SetValueType(ical.ValueCalendarAddress)
	prop.Value = "mailto:" + uriSafe(p.Email)
	if cn := paramSafe(p.Name); cn != "" {
		prop.Params.Set(ical.ParamCommonName, cn)
	}
	if ps, ok := partstat[strings.ToLower(p.Status)]; ok && name == ical.PropAttendee {
		prop.Params.Set(ical.ParamParticipationStatus, ps)
	}
	return prop
}

// stamp is the first non-zero time, in UTC, or the Unix epoch.
func stamp(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}

// clean drops control characters from a one-line value.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// paramSafe is clean without double quotes, which a parameter value cannot
// hold (RFC 5545 3.2).
func paramSafe(s string) string { return strings.ReplaceAll(clean(s), `"`, "'") }

// uriSafe is clean without the characters that would end a URI value.
func uriSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '"' || r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
}
