package pim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// graphEvent is the part of a Microsoft Graph event with an iCalendar
// property of its own.
type graphEvent struct {
	ID             string `json:"id"`
	ICalUID        string `json:"iCalUId"`
	Type           string `json:"type"`
	SeriesMasterID string `json:"seriesMasterId"`
	OriginalStart  string `json:"originalStart"`
	Subject        string `json:"subject"`
	Body           *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	BodyPreview string         `json:"bodyPreview"`
	Start       *graphDateTime `json:"start"`
	End         *graphDateTime `json:"end"`
	IsAllDay    bool           `json:"isAllDay"`
	IsCancelled bool           `json:"isCancelled"`
	ShowAs      string         `json:"showAs"`
	Location    *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Organizer *struct {
		EmailAddress graphEmail `json:"emailAddress"`
	} `json:"organizer"`
	Attendees []struct {
		Type         string     `json:"type"`
		EmailAddress graphEmail `json:"emailAddress"`
		Status       *struct {
			Response string `json:"response"`
			Time     string `json:"time"`
		} `json:"status"`
	} `json:"attendees"`
	ResponseRequested          *bool            `json:"responseRequested"`
	Recurrence                 *graphRecurrence `json:"recurrence"`
	CancelledOccurrences       []string         `json:"cancelledOccurrences"`
	Categories                 []string         `json:"categories"`
	Importance                 string           `json:"importance"`
	Sensitivity                string           `json:"sensitivity"`
	IsReminderOn               *bool            `json:"isReminderOn"`
	ReminderMinutesBeforeStart int              `json:"reminderMinutesBeforeStart"`
	Created                    string           `json:"createdDateTime"`
	Modified                   string           `json:"lastModifiedDateTime"`
	WebLink                    string           `json:"webLink"`
}

type graphRecurrence struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		DayOfMonth     int      `json:"dayOfMonth"`
		Month          int      `json:"month"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
		Index          string   `json:"index"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
	} `json:"range"`
}

// graphInstance is one decoded Graph event: its fields, and the JSON.
type graphInstance struct {
	g   graphEvent
	f   fields
	raw json.RawMessage
}

// EventsFromGraph reads Microsoft Graph event JSON (one event, an array,
// or a collection page) as calendar objects: a series master with its
// exceptions and occurrences (seriesMasterId, as RECURRENCE-ID
// components) is one object with the master's UID. Each field maps to
// its iCalendar property (subject SUMMARY, body DESCRIPTION or
// X-ALT-DESC, start and end DTSTART and DTEND, isAllDay dates, showAs
// TRANSP and X-MICROSOFT-CDO-BUSYSTATUS, attendees ATTENDEE with CN,
// PARTSTAT, ROLE, CUTYPE and RSVP, recurrence RRULE, cancelledOccurrences
// EXDATE, importance PRIORITY, sensitivity CLASS, the reminder a VALARM,
// webLink URL, …); every other field, or one a property would hold only
// in part, is kept as X-HOLDFAST-GRAPH;X-FIELD=<name>:<JSON>. stamp is the
// DTSTAMP of events without lastModifiedDateTime.
func EventsFromGraph(b []byte, stamp time.Time) ([]storage.Event, error) {
	list, err := graphList(b)
	if err != nil {
		return nil, err
	}
	var all []graphInstance
	masters := map[string]int{}
	for i, raw := range list {
		var in graphInstance
		if in.f, err = decodeGraph(raw, &in.g, "event", i); err != nil {
			return nil, err
		}
		if in.g.ICalUID == "" && in.g.ID == "" {
			return nil, fmt.Errorf("%w: Graph event %d has neither iCalUId nor id", holdfast.ErrInvalid, i)
		}
		in.raw = raw
		if in.g.SeriesMasterID == "" && in.g.ID != "" {
			masters[in.g.ID] = len(all)
		}
		all = append(all, in)
	}
	// Group: a master and the instances that name it, else each alone.
	var groups [][]graphInstance
	at := map[int]int{}
	for i, in := range all {
		if m, ok := masters[in.g.SeriesMasterID]; ok && in.g.SeriesMasterID != "" {
			if g, ok := at[m]; ok {
				groups[g] = append(groups[g], in)
				continue
			}
			at[m] = len(groups)
			groups = append(groups, []graphInstance{all[m], in})
			continue
		}
		if _, ok := at[i]; ok {
			continue
		}
		at[i] = len(groups)
		groups = append(groups, []graphInstance{in})
	}
	var out []storage.Event
	for _, g := range groups {
		ev, err := graphObject(g, stamp)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// graphObject makes one calendar object of a master (first) and the
// instances of its series.
func graphObject(group []graphInstance, stamp time.Time) (storage.Event, error) {
	master := group[0]
	uid := master.g.ICalUID
	if uid == "" {
		uid = master.g.ID
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, ProductID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	raws := make([]json.RawMessage, 0, len(group))
	for i, in := range group {
		c := graphComponent(in, uid, master.g, i > 0)
		cal.Children = append(cal.Children, c)
		raws = append(raws, in.raw)
	}
	text, err := encodeCalendar(cal, uid, stamp)
	if err != nil {
		return storage.Event{}, err
	}
	ev := summarize(cal, uid)
	ev.Calendar, ev.OriginalType = string(text), OriginalGraph
	if len(raws) == 1 {
		ev.Original = string(raws[0])
	} else {
		b, _ := json.Marshal(raws)
		ev.Original = string(b)
	}
	return ev, nil
}

// graphComponent maps one Graph event to a VEVENT; instance is true for
// an exception or occurrence of master's series.
func graphComponent(in graphInstance, uid string, master graphEvent, instance bool) *ical.Component {
	g, f := in.g, in.f
	e := ical.NewEvent()
	e.Props.SetText(ical.PropUID, uid)
	if g.ICalUID == uid {
		f.done("iCalUId")
	}
	if instance {
		f.done("seriesMasterId") // the instance is in its master's object
	}
	if g.Subject != "" {
		e.Props.SetText(ical.PropSummary, g.Subject)
	}
	f.done("subject")
	graphBody(e, g, f)
	allDay := g.IsAllDay
	f.done("isAllDay")
	for _, t := range []struct {
		key, prop string
		dt        *graphDateTime
	}{{"start", ical.PropDateTimeStart, g.Start}, {"end", ical.PropDateTimeEnd, g.End}} {
		if t.dt == nil {
			continue
		}
		if when, ok := t.dt.local(); !when.IsZero() {
			e.Props.Set(dateProp(t.prop, when, allDay, ok))
			if ok && (t.dt.TimeZone == "UTC" || t.dt.TimeZone == "") && when.Nanosecond() == 0 {
				f.done(t.key) // else the zone's name (or the fraction) is kept with the field
			}
		}
	}
	if instance && g.OriginalStart != "" {
		if t := graphTime(g.OriginalStart); !t.IsZero() {
			e.Props.Set(dateProp(ical.PropRecurrenceID, t, master.IsAllDay, true))
			f.done("originalStart")
		}
	}
	if g.IsCancelled {
		setRaw(e, ical.PropStatus, "CANCELLED")
	}
	f.done("isCancelled")
	if s := strings.ToUpper(g.ShowAs); s != "" {
		setRaw(e, "X-MICROSOFT-CDO-BUSYSTATUS", s)
		transp := "OPAQUE"
		if s == "FREE" {
			transp = "TRANSPARENT"
		}
		setRaw(e, ical.PropTransparency, transp)
		f.done("showAs")
	}
	graphLocation(e, g, f)
	graphPeople(e, g, f)
	graphRecur(e, g, f)
	graphClass(e, g, f)
	graphTimes(e, g, f)
	f.rest(func(name, value string) {
		p := ical.NewProp(graphField)
		p.Params.Set("X-FIELD", name)
		p.Value = escape(value)
		e.Props.Add(p)
	})
	return e.Component
}

// dateProp is a DATE (all day), a UTC DATE-TIME (known zone) or a
// floating local DATE-TIME (a zone Go does not know).
func dateProp(name string, t time.Time, allDay, known bool) *ical.Prop {
	p := ical.NewProp(name)
	switch {
	case allDay:
		p.SetDate(t)
	case known:
		p.SetDateTime(t.UTC())
	default:
		p.Value = t.Format("20060102T150405")
	}
	return p
}

func graphBody(e *ical.Event, g graphEvent, f fields) {
	if g.Body == nil {
		return
	}
	if strings.EqualFold(g.Body.ContentType, "html") {
		if g.Body.Content != "" {
			p := ical.NewProp("X-ALT-DESC")
			p.Params.Set(ical.ParamFormatType, "text/html")
			p.Value = escape(g.Body.Content)
			e.Props.Add(p)
		}
		if g.BodyPreview != "" {
			e.Props.SetText(ical.PropDescription, g.BodyPreview)
			f.done("bodyPreview")
		}
	} else if g.Body.Content != "" {
		e.Props.SetText(ical.PropDescription, g.Body.Content)
	}
	if onlyKeys(f["body"], "contentType", "content") {
		f.done("body")
	}
}

// onlyKeys reports whether raw is an object, or an array of objects, with
// no key but keys (nested values are not looked into).
func onlyKeys(raw json.RawMessage, keys ...string) bool {
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return false
		}
		objs = append(objs, one)
	}
	for _, o := range objs {
		for k := range o {
			if !slices.Contains(keys, k) {
				return false
			}
		}
	}
	return true
}

func graphLocation(e *ical.Event, g graphEvent, f fields) {
	if g.Location == nil || g.Location.DisplayName == "" {
		return
	}
	e.Props.SetText(ical.PropLocation, g.Location.DisplayName)
	var all map[string]json.RawMessage
	_ = json.Unmarshal(f["location"], &all)
	delete(all, "displayName")
	if len(all) == 0 {
		f.done("location")
	}
}

// partstat maps Graph's responseType to PARTSTAT.
var partstat = map[string]string{"none": "NEEDS-ACTION", "notResponded": "NEEDS-ACTION", "organizer": "ACCEPTED",
	"accepted": "ACCEPTED", "tentativelyAccepted": "TENTATIVE", "declined": "DECLINED"}

func graphPeople(e *ical.Event, g graphEvent, f fields) {
	if g.Organizer != nil && g.Organizer.EmailAddress.Address != "" {
		e.Props.Set(calAddress(ical.PropOrganizer, g.Organizer.EmailAddress))
		if onlyKeys(f["organizer"], "emailAddress") {
			f.done("organizer")
		}
	}
	for _, a := range g.Attendees {
		p := calAddress(ical.PropAttendee, a.EmailAddress)
		switch a.Type {
		case "required":
			p.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		case "optional":
			p.Params.Set(ical.ParamRole, "OPT-PARTICIPANT")
		case "resource":
			p.Params.Set(ical.ParamRole, "NON-PARTICIPANT")
			p.Params.Set(ical.ParamCalendarUserType, "RESOURCE")
		}
		if a.Status != nil {
			if ps := partstat[a.Status.Response]; ps != "" {
				p.Params.Set(ical.ParamParticipationStatus, ps)
			}
			if t := graphTime(a.Status.Time); !t.IsZero() && t.Year() > 1 {
				p.Params.Set("X-RESPONSE-TIME", t.Format("20060102T150405Z"))
			}
		}
		if g.ResponseRequested != nil && *g.ResponseRequested {
			p.Params.Set(ical.ParamRSVP, "TRUE")
		}
		e.Props.Add(p)
	}
	if len(g.Attendees) > 0 {
		f.done("responseRequested")
		if onlyKeys(f["attendees"], "type", "status", "emailAddress") {
			f.done("attendees")
		}
	}
}

func calAddress(name string, a graphEmail) *ical.Prop {
	p := ical.NewProp(name)
	p.SetValueType(ical.ValueCalendarAddress)
	p.Value = "mailto:" + a.Address
	if a.Name != "" {
		p.Params.Set(ical.ParamCommonName, a.Name)
	}
	return p
}

func graphRecur(e *ical.Event, g graphEvent, f fields) {
	if g.Recurrence != nil {
		if r, exact := g.Recurrence.rrule(g.IsAllDay); r != "" {
			p := ical.NewProp(ical.PropRecurrenceRule)
			p.Value = r
			e.Props.Set(p)
			if exact {
				f.done("recurrence")
			}
		}
	}
	start := e.Props.Get(ical.PropDateTimeStart)
	var dates []string
	for _, id := range g.CancelledOccurrences {
		// "OID.{master id}.2026-01-12": the date of the occurrence.
		d, err := time.Parse(time.DateOnly, id[strings.LastIndexByte(id, '.')+1:])
		if err != nil || start == nil {
			return
		}
		if g.IsAllDay || len(start.Value) == 8 {
			dates = append(dates, d.Format("20060102"))
		} else {
			dates = append(dates, d.Format("20060102")+start.Value[8:])
		}
	}
	if len(dates) > 0 {
		p := ical.NewProp(ical.PropExceptionDates)
		if g.IsAllDay {
			p.SetValueType(ical.ValueDate)
		}
		p.Value = strings.Join(dates, ",")
		e.Props.Add(p)
		f.done("cancelledOccurrences")
	}
}

// rrule renders a Graph recurrence as an RRULE value; exact is false when
// some of it has no RRULE part.
func (r graphRecurrence) rrule(allDay bool) (rule string, exact bool) {
	freq := map[string]string{"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY",
		"relativeMonthly": "MONTHLY", "absoluteYearly": "YEARLY", "relativeYearly": "YEARLY"}[r.Pattern.Type]
	if freq == "" {
		return "", false
	}
	// The RRULE runs in DTSTART's zone (UTC): one of another zone is
	// kept with the field too.
	exact = r.Range.RecurrenceTimeZone == "" || r.Range.RecurrenceTimeZone == "UTC"
	parts := []string{"FREQ=" + freq}
	if r.Pattern.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Pattern.Interval))
	}
	setpos := map[string]string{"first": "1", "second": "2", "third": "3", "fourth": "4", "last": "-1"}[r.Pattern.Index]
	if len(r.Pattern.DaysOfWeek) > 0 {
		var days []string
		for _, d := range r.Pattern.DaysOfWeek {
			days = append(days, strings.ToUpper(d[:min(2, len(d))]))
		}
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
		if strings.HasPrefix(r.Pattern.Type, "relative") && setpos != "" {
			parts = append(parts, "BYSETPOS="+setpos)
		}
	}
	if r.Pattern.DayOfMonth > 0 {
		parts = append(parts, "BYMONTHDAY="+strconv.Itoa(r.Pattern.DayOfMonth))
	}
	if r.Pattern.Month > 0 {
		parts = append(parts, "BYMONTH="+strconv.Itoa(r.Pattern.Month))
	}
	if d := r.Pattern.FirstDayOfWeek; d != "" {
		parts = append(parts, "WKST="+strings.ToUpper(d[:min(2, len(d))]))
	}
	switch r.Range.Type {
	case "endDate":
		t, err := time.Parse(time.DateOnly, r.Range.EndDate)
		if err != nil {
			return strings.Join(parts, ";"), false
		}
		if allDay {
			parts = append(parts, "UNTIL="+t.Format("20060102"))
		} else {
			parts = append(parts, "UNTIL="+t.Format("20060102")+"T235959Z")
		}
	case "numbered":
		parts = append(parts, "COUNT="+strconv.Itoa(r.Range.NumberOfOccurrences))
	case "noEnd":
	default:
		exact = false
	}
	return strings.Join(parts, ";"), exact
}

// class maps Graph's sensitivity to CLASS.
var class = map[string]string{"normal": "PUBLIC", "personal": "X-PERSONAL", "private": "PRIVATE", "confidential": "CONFIDENTIAL"}

// priority maps Graph's importance to PRIORITY (RFC 5545 3.8.1.9: 1
// highest, 5 normal, 9 lowest).
var priority = map[string]string{"high": "1", "normal": "5", "low": "9"}

func graphClass(e *ical.Event, g graphEvent, f fields) {
	if c := class[g.Sensitivity]; c != "" {
		setRaw(e, ical.PropClass, c)
		f.done("sensitivity")
	}
	if p := priority[g.Importance]; p != "" {
		setRaw(e, ical.PropPriority, p)
		f.done("importance")
	}
	if len(g.Categories) > 0 {
		p := ical.NewProp(ical.PropCategories)
		p.SetTextList(g.Categories)
		e.Props.Set(p)
		f.done("categories")
	}
	if g.WebLink != "" {
		p := ical.NewProp(ical.PropURL)
		p.SetValueType(ical.ValueURI)
		p.Value = g.WebLink
		e.Props.Set(p)
		f.done("webLink")
	}
	if g.IsReminderOn != nil && *g.IsReminderOn {
		a := ical.NewComponent(ical.CompAlarm)
		a.Props.Set(&ical.Prop{Name: ical.PropAction, Params: ical.Params{}, Value: "DISPLAY"})
		a.Props.SetText(ical.PropDescription, "Reminder")
		trig := ical.NewProp(ical.PropTrigger)
		trig.Value = "-PT" + strconv.Itoa(g.ReminderMinutesBeforeStart) + "M"
		if g.ReminderMinutesBeforeStart <= 0 {
			trig.Value = "PT" + strconv.Itoa(-g.ReminderMinutesBeforeStart) + "M"
		}
		a.Props.Set(trig)
		e.Children = append(e.Children, a)
		f.done("isReminderOn", "reminderMinutesBeforeStart")
	}
}

func graphTimes(e *ical.Event, g graphEvent, f fields) {
	for _, t := range []struct{ key, prop, v string }{{"createdDateTime", ical.PropCreated, g.Created}, {"lastModifiedDateTime", ical.PropLastModified, g.Modified}} {
		if tm := graphTime(t.v); !tm.IsZero() && tm.Year() > 1 {
			e.Props.SetDateTime(t.prop, tm)
			if tm.Nanosecond() == 0 {
				f.done(t.key)
			}
		}
	}
	if slices.Contains([]string{"seriesMaster", "singleInstance"}, g.Type) && g.SeriesMasterID == "" {
		f.done("type")
	}
}

// setRaw sets a property whose value needs no escaping (an enumerated
// value or an integer) without a VALUE parameter.
func setRaw(e *ical.Event, name, value string) {
	e.Props.Set(&ical.Prop{Name: name, Params: ical.Params{}, Value: value})
}
