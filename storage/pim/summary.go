package pim

import (
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/holdfast/holdfast/storage"
)

// summarize fills the summary fields of an Event from the main component
// of cal: the first one without RECURRENCE-ID (the series), else the
// first.
func summarize(cal *ical.Calendar, uid string) storage.Event {
	ev := storage.Event{UID: uid}
	var main *ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone || strings.HasPrefix(c.Name, "X-HOLDFAST-") {
			continue
		}
		if main == nil || (main.Props.Get(ical.PropRecurrenceID) != nil && c.Props.Get(ical.PropRecurrenceID) == nil) {
			main = c
		}
	}
	if main == nil {
		return ev
	}
	text := func(name string) string {
		if p := main.Props.Get(name); p != nil {
			return unescape(p.Value)
		}
		return ""
	}
	when := func(name string) (time.Time, bool, string) {
		p := main.Props.Get(name)
		if p == nil {
			return time.Time{}, false, ""
		}
		t, err := p.DateTime(time.UTC)
		if err != nil {
			return time.Time{}, false, ""
		}
		return t.UTC(), p.ValueType() == ical.ValueDate || len(p.Value) == 8, p.Params.Get(ical.PropTimezoneID)
	}
	ev.Summary, ev.Description, ev.Location = text(ical.PropSummary), text(ical.PropDescription), text(ical.PropLocation)
	ev.Status = strings.ToLower(text(ical.PropStatus))
	ev.Start, ev.AllDay, ev.TimeZone = when(ical.PropDateTimeStart)
	ev.End, _, _ = when(ical.PropDateTimeEnd)
	ev.Created, _, _ = when(ical.PropCreated)
	ev.Modified, _, _ = when(ical.PropLastModified)
	if p := main.Props.Get(ical.PropOrganizer); p != nil {
		ev.Organizer = &storage.Person{Name: p.Params.Get(ical.ParamCommonName), Email: mailto(p.Value)}
	}
	for _, p := range main.Props.Values(ical.PropAttendee) {
		ev.Attendees = append(ev.Attendees, storage.Person{Name: p.Params.Get(ical.ParamCommonName), Email: mailto(p.Value),
			Status: strings.ToLower(p.Params.Get(ical.ParamParticipationStatus))})
	}
	for _, p := range main.Props.Values(ical.PropRecurrenceRule) {
		ev.Recurrence = append(ev.Recurrence, p.Value)
	}
	return ev
}

func mailto(v string) string {
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}
