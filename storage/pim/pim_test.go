package pim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast/storage"
)

var stamp = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

func corpus(tb testing.TB, pattern string) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", pattern))
	if err != nil || len(files) == 0 {
		tb.Fatalf("corpus %s: %v", pattern, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// expectedObjects is what every export of b must give back, per UID.
func expectedObjects(tb testing.TB, b []byte) map[string][]string {
	tb.Helper()
	out, err := ObjectLines(b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestCalendarRoundTrip: every property, parameter and component of the
// corpus comes back from the .ics export, per calendar object, and a
// series with its exceptions is one object.
func TestCalendarRoundTrip(t *testing.T) {
	for name, in := range corpus(t, "*.ics") {
		t.Run(name, func(t *testing.T) {
			want := expectedObjects(t, in)
			evs, err := EventsFromICS(in, stamp)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(want) {
				t.Fatalf("%d objects, want %d (one per UID)", len(evs), len(want))
			}
			for _, ev := range evs {
				out, err := RenderCalendar(ev.Calendar, stamp)
				if err != nil {
					t.Fatal(err)
				}
				checkLines(t, out)
				cals := parseCalendars(t, out)
				if len(cals) != 1 {
					t.Fatalf("%d calendars in one object", len(cals))
				}
				if got := canonComp(cals[0].Component); !slices.Equal(got, want[ev.UID]) {
					t.Errorf("object %s differs from the input:\n%s", ev.UID, diff(want[ev.UID], got))
				}
			}
		})
	}
}

// TestRecurringSeriesIsOneObject names what the round trip implies for
// RFC 5545 3.8.4.4 and 3.8.5: the exceptions keep RECURRENCE-ID, the
// series its EXDATE, RDATE, DURATION, alarms and time zones.
func TestRecurringSeriesIsOneObject(t *testing.T) {
	evs, err := EventsFromICS(corpus(t, "recurring-timezone.ics")["recurring-timezone.ics"], stamp)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d objects, %v; want 1", len(evs), err)
	}
	ev := evs[0]
	for _, want := range []string{"RECURRENCE-ID;TZID=America/New_York:20260126T090000", "EXDATE;TZID=America/New_York:20260119T090000,20260216T090000",
		"RDATE;TZID=America/New_York:20260404T100000", "DURATION:PT45M", "BEGIN:VALARM", "TZID:America/New_York", "TZID:Europe/Paris",
		"DTSTAMP:20251220T101500Z", "X-WR-CALNAME:Équipe Paris"} {
		if !strings.Contains(strings.ReplaceAll(ev.Calendar, "\r\n ", ""), want) {
			t.Errorf("object lacks %s:\n%s", want, ev.Calendar)
		}
	}
	if ev.Summary != "Weekly sync — café ☕ and 日本語" || ev.TimeZone != "America/New_York" || ev.Start != time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC) {
		t.Errorf("summary fields = %q %q %v", ev.Summary, ev.TimeZone, ev.Start)
	}
}

// TestCardRoundTrip: every property, group and parameter of the vCard
// corpus comes back from the .vcf export.
func TestCardRoundTrip(t *testing.T) {
	for name, in := range corpus(t, "*.vcf") {
		t.Run(name, func(t *testing.T) {
			cs, err := ContactsFromVCF(in)
			if err != nil {
				t.Fatal(err)
			}
			wants := parseCards(t, bareParams(in))
			if len(cs) != len(wants) {
				t.Fatalf("%d contacts, want %d", len(cs), len(wants))
			}
			for i, c := range cs {
				out, err := RenderCard(c.Card)
				if err != nil {
					t.Fatal(err)
				}
				checkLines(t, out)
				got := parseCards(t, out)
				if len(got) != 1 {
					t.Fatalf("%d cards in one file", len(got))
				}
				if g, w := canonCard(got[0]), canonCard(wants[i]); !slices.Equal(g, w) {
					t.Errorf("card %s differs from the input:\n%s", c.UID, diff(w, g))
				}
				checkDAVCard(t, c.Card, wants[i])
			}
		})
	}
}

// TestVCardTypesAndPrefixes: name prefixes and TEL, ADR and EMAIL types
// (the export used to drop them), and vCard 2.1's bare types.
func TestVCardTypesAndPrefixes(t *testing.T) {
	for file, wants := range map[string][]string{
		"people-v4.vcf": {"N:Perreault;Simon;Marc,Léon;Dr.,Prof.;Jr.,ing.jr", "ADR;GEO=\"geo:46.772673,-71.282945\";TYPE=home;TZ=America/Montreal:", "EMAIL;TYPE=work:", "item1.EMAIL;TYPE=home:", "TEL;PREF=1;TYPE=work,voice;VALUE=uri:tel:+1-418-656-9254;ext=102", "PHOTO:data:image/png;base64,AAEC"},
		"people-v3.vcf": {"N:Nguyễn;Thị Minh;;Ms.;", "EMAIL;TYPE=INTERNET,WORK,pref:", "item1.ADR;TYPE=WORK,pref:", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4A"},
		"people-v21.vcf": {"N:Gump;Forrest;;Mr.", "TEL;TYPE=WORK,VOICE:(111) 555-1212", "ADR;TYPE=WORK,PREF:",
			"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Runs across the country.=0D=0AStupid is as stupid does\\, Momma says. Caf=C3=A9."},
	} {
		cs, err := ContactsFromVCF(corpus(t, file)[file])
		if err != nil {
			t.Fatal(err)
		}
		out, err := RenderCard(cs[0].Card)
		if err != nil {
			t.Fatal(err)
		}
		unfolded := strings.ReplaceAll(string(out), "\r\n ", "")
		for _, w := range wants {
			if !strings.Contains(unfolded, w) {
				t.Errorf("%s: export lacks %q:\n%s", file, w, unfolded)
			}
		}
	}
}

func parseCards(tb testing.TB, b []byte) []vcard.Card {
	tb.Helper()
	dec := vcard.NewDecoder(strings.NewReader(string(b)))
	var out []vcard.Card
	for {
		c, err := dec.Decode()
		if err != nil {
			return out
		}
		out = append(out, c)
	}
}

func TestFileName(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct{ uid, want string }{
		{"19970901T130000Z-123401@example.com", "19970901T130000Z-123401@example.com"},
		{"040000008200E00074C5B7101A82E008", "040000008200E00074C5B7101A82E008"},
		{"a/b c", "a%2Fb%20c"},
		{"a%2Fb c", "a%252Fb%20c"},
		{"..", "%2E."},
		{"", "%"},
		{"café", "caf%C3%A9"},
		{long, strings.Repeat("x", 160) + "~" + FileName(long)[161:]},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := FileName(tt.uid)
		if got != tt.want || len(got) > maxName || strings.ContainsAny(got, "/\\\x00") {
			t.Errorf("FileName(%q) = %q, want %q", tt.uid, got, tt.want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share %q", other, tt.uid, got)
		}
		seen[got] = tt.uid
	}
	if FileName(long) == FileName(long+"y") {
		t.Error("long UIDs share a name")
	}
}

// TestGraphEventsMapEveryField: each field of a Graph series (master,
// exception, occurrence) is in the calendar object, as its property or
// as X-HOLDFAST-GRAPH;X-FIELD=<name>, and the series is one object.
func TestGraphEventsMapEveryField(t *testing.T) {
	in := corpus(t, "graph-events.json")["graph-events.json"]
	evs, err := EventsFromGraph(in, stamp)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d objects, want the series and the single event", len(evs))
	}
	// mapped names the property each field becomes when it has one.
	mapped := map[string]string{"iCalUId": "UID", "subject": "SUMMARY", "body": "X-ALT-DESC", "bodyPreview": "DESCRIPTION",
		"start": "DTSTART", "end": "DTEND", "isAllDay": "DTSTART", "isCancelled": "STATUS", "showAs": "X-MICROSOFT-CDO-BUSYSTATUS",
		"location": "LOCATION", "organizer": "ORGANIZER", "attendees": "ATTENDEE", "responseRequested": "ATTENDEE",
		"recurrence": "RRULE", "cancelledOccurrences": "EXDATE", "categories": "CATEGORIES", "importance": "PRIORITY",
		"sensitivity": "CLASS", "isReminderOn": "VALARM", "reminderMinutesBeforeStart": "VALARM", "createdDateTime": "CREATED",
		"lastModifiedDateTime": "LAST-MODIFIED", "webLink": "URL", "originalStart": "RECURRENCE-ID", "seriesMasterId": "RECURRENCE-ID", "type": "X-HOLDFAST-GRAPH"}
	list, _ := graphList(in)
	series := evs[0].Calendar
	for _, ev := range evs {
		if strings.Contains(ev.Calendar, "RECURRENCE-ID") {
			series = ev.Calendar
		}
	}
	unfolded := strings.ReplaceAll(series, "\r\n ", "")
	for i, raw := range list[:3] {
		var f map[string]json.RawMessage
		_ = json.Unmarshal(raw, &f)
		for k := range f {
			prop, ok := mapped[k]
			if !strings.Contains(unfolded, "X-FIELD="+k+":") && !strings.Contains(unfolded, `X-FIELD="`+k+`":`) && (!ok || !strings.Contains(unfolded, prop)) {
				t.Errorf("event %d: field %s is in no property", i, k)
			}
		}
	}
	for _, want := range []string{"RRULE:FREQ=MONTHLY;BYDAY=TH;BYSETPOS=2;WKST=SU;COUNT=6", "EXDATE:20260312T150000Z", "RECURRENCE-ID:20260409T150000Z",
		"TRIGGER:-PT15M", "ATTENDEE;CN=Bob Lee;PARTSTAT=TENTATIVE;ROLE=OPT-PARTICIPANT;RSVP=TRUE;X-RESPONSE-TIME=20260201T090000Z:mailto:bob@example.com",
		"CLASS:PRIVATE", "PRIORITY:1", "CATEGORIES:Legal,Board", "TRANSP:OPAQUE", "X-ALT-DESC;FMTTYPE=text/html:<html><body><p>Quarterly review</p></body></html>",
		"X-HOLDFAST-GRAPH;X-FIELD=type:\"exception\"", "X-HOLDFAST-GRAPH;X-FIELD=iCalUId:\"AAAA-exception-own@example.com\"", "DTSTAMP:20260115T100000Z", "X-HOLDFAST-GRAPH;X-FIELD=onlineMeeting:{\"joinUrl\":\"https://teams.example.com/l/meetup-join/1\"}"} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("series lacks %s:\n%s", want, unfolded)
		}
	}
	if strings.Count(unfolded, "BEGIN:VEVENT") != 3 || strings.Count(unfolded, "UID:AAAA-series@example.com") != 3 {
		t.Errorf("the master, the exception and the occurrence are not one object with one UID:\n%s", unfolded)
	}
}

// TestGraphContactsMapEveryField: likewise for a Graph contact.
func TestGraphContactsMapEveryField(t *testing.T) {
	in := corpus(t, "graph-contacts.json")["graph-contacts.json"]
	cs, err := ContactsFromGraph(in)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d contacts, %v", len(cs), err)
	}
	out, err := RenderCard(cs[0].Card)
	if err != nil {
		t.Fatal(err)
	}
	unfolded := strings.ReplaceAll(string(out), "\r\n ", "")
	mapped := map[string]string{"id": "UID", "displayName": "FN", "givenName": "N:", "middleName": "N:", "surname": "N:", "title": "N:",
		"generation": "N:", "nickName": "NICKNAME", "emailAddresses": "EMAIL", "imAddresses": "IMPP", "businessPhones": "TEL;TYPE=work,voice",
		"homePhones": "TEL;TYPE=home,voice", "mobilePhone": "TEL;TYPE=cell", "homeAddress": "ADR;TYPE=home", "businessAddress": "ADR;TYPE=work",
		"companyName": "ORG", "department": "ORG", "jobTitle": "TITLE", "profession": "ROLE",
		"manager": "X-MANAGER", "assistantName": "X-ASSISTANT", "spouseName": "RELATED;TYPE=spouse", "children": "RELATED;TYPE=child",
		"birthday": "BDAY", "personalNotes": "NOTE", "businessHomePage": "URL", "categories": "CATEGORIES", "lastModifiedDateTime": "REV"}
	var f map[string]json.RawMessage
	_ = json.Unmarshal(in, &f)
	for k := range f {
		prop, ok := mapped[k]
		if !strings.Contains(unfolded, "X-FIELD="+k+":") && (!ok || !strings.Contains(unfolded, prop)) {
			t.Errorf("field %s is in no property:\n%s", k, unfolded)
		}
	}
	for _, want := range []string{"N:Lee;Ann;Marie;Dr.;III", "FN:Dr. Ann Lee", "EMAIL;CN=Ann (work):ann@example.com", "ORG:Acme\\, Inc.;Legal",
		"BDAY:19800412", "X-HOLDFAST-GRAPH;X-FIELD=yomiSurname:\"リー\"", "X-HOLDFAST-GRAPH;X-FIELD=createdDateTime:\"2025-01-01T00:00:00Z\""} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("card lacks %s:\n%s", want, unfolded)
		}
	}
	if cs[0].Original != strings.TrimSpace(string(in)) || cs[0].OriginalType != OriginalGraph {
		t.Errorf("the Graph JSON is not kept as the original")
	}
}

// TestFoldEnds: a line of bytes that are no UTF-8 still folds (it used to
// loop for ever looking for a rune start).
func TestFoldEnds(t *testing.T) {
	in := append([]byte("X:"), bytes.Repeat([]byte{0x80}, 200)...)
	out := Fold(in)
	if unfolded := bytes.ReplaceAll(out, []byte("\r\n "), nil); !bytes.Equal(unfolded, append(in, '\r', '\n')) {
		t.Errorf("Fold(%q) = %q", in, out)
	}
}

// TestLegacyItemsRecovered: items stored before the whole object was kept
// (the old client kept the VEVENT block or the vCard or the Graph JSON in
// Original) are served from that original, with what the fields lost.
func TestLegacyItemsRecovered(t *testing.T) {
	ev := storage.Event{UID: "old@example.com", Summary: "Old", OriginalType: OriginalICS,
		Original: "BEGIN:VEVENT\r\nUID:old@example.com\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250106T100000\r\nDURATION:PT1H\r\n" +
			"RRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Europe/Paris:20250113T100000\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\n"}
	cal := EventCalendar(ev, stamp)
	for _, want := range []string{"EXDATE;TZID=Europe/Paris:20250113T100000", "DURATION:PT1H", "BEGIN:VALARM", "DTSTAMP:20250101T000000Z"} {
		if !strings.Contains(cal, want) {
			t.Errorf("recovered calendar lacks %s:\n%s", want, cal)
		}
	}
	ev.UID = "another"
	if EventCalendar(ev, stamp) != "" {
		t.Error("an original of another UID was used")
	}
	g := storage.Event{UID: "g@example.com", OriginalType: OriginalGraph, Original: `{"id":"1","iCalUId":"g@example.com","subject":"S","isReminderOn":true,"reminderMinutesBeforeStart":10}`}
	if cal := EventCalendar(g, stamp); !strings.Contains(cal, "TRIGGER:-PT10M") {
		t.Errorf("Graph original not mapped:\n%s", cal)
	}
	c := storage.Contact{UID: "c1", OriginalType: OriginalVCF, Original: "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:A\r\nN:B;A;;Dr.;\r\nTEL;TYPE=CELL:1\r\nEND:VCARD\r\n"}
	if card := ContactCard(c); !strings.Contains(card, "N:B;A;;Dr.;") || !strings.Contains(card, "TEL;TYPE=CELL:1") {
		t.Errorf("recovered card:\n%s", card)
	}
	if ContactCard(storage.Contact{UID: "x"}) != "" {
		t.Error("a card made from nothing")
	}
}
