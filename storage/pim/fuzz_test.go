package pim

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
)

// seed adds every corpus file matching pattern to f.
func seed(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		for _, b := range corpus(f, p) {
			f.Add(b)
		}
	}
}

// FuzzEventsFromICS: any input parses or fails cleanly (no panic, even
// where go-ical's decoder panics); every object has a distinct UID and a
// calendar that the export renders into valid lines, and what the export
// renders reads back as the stored calendar, component by component.
func FuzzEventsFromICS(f *testing.F) {
	seed(f, "*.ics")
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX;A=\"b\"c:v\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nSUMMARY:b\r\nDTEND:20260101T000000Z\r\nDURATION:PT1H\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VEVENT\r\nBEGIN:VTIMEZONE\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := EventsFromICS(b, time.Unix(1, 0))
		if err != nil {
			return
		}
		var uids []string
		for _, ev := range evs {
			if ev.UID == "" || slices.Contains(uids, ev.UID) {
				t.Fatalf("UID %q empty or repeated", ev.UID)
			}
			uids = append(uids, ev.UID)
			out, err := RenderCalendar(ev.Calendar, time.Unix(1, 0))
			if err != nil {
				t.Fatalf("stored calendar does not render: %v\n%q", err, ev.Calendar)
			}
			checkLines(t, out)
			stored, got := parseCalendars(t, []byte(ev.Calendar)), parseCalendars(t, out)
			if len(stored) != 1 || len(got) != 1 {
				t.Fatalf("%d and %d calendars", len(stored), len(got))
			}
			if w, g := canonComp(stored[0].Component), canonComp(got[0].Component); !slices.Equal(w, g) {
				t.Fatalf("export differs from the stored calendar:\n%s", diff(w, g))
			}
		}
	})
}

// FuzzContactsFromVCF: likewise for vCards.
func FuzzContactsFromVCF(f *testing.F) {
	seed(f, "*.vcf")
	f.Add([]byte("BEGIN:VCARD\r\nBEGIN:VCARD\r\nTEL;WORK;\"x\":1\r\nEND:VCARD\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\nitem1.EMAIL;TYPE=\"a,b\";X=\"\\n\":a\\;b,c\\\\;d\nN:\\\\;x\nEND:VCARD"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ContactsFromVCF(b)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.UID == "" {
				t.Fatalf("contact without UID")
			}
			out, err := RenderCard(c.Card)
			if err != nil {
				t.Fatalf("stored card does not render: %v\n%q", err, c.Card)
			}
			checkLines(t, out)
			stored, got := parseCards(t, []byte(c.Card)), parseCards(t, out)
			if len(stored) != 1 || len(got) != 1 {
				t.Fatalf("%d and %d cards:\n%q\n%q", len(stored), len(got), c.Card, out)
			}
			if w, g := canonCard(stored[0]), canonCard(got[0]); !slices.Equal(w, g) {
				t.Fatalf("export differs from the stored card:\n%s", diff(w, g))
			}
			checkDAVCard(t, c.Card, stored[0])
		}
	})
}

// FuzzGraph: Graph event and contact JSON of any shape parses or fails
// cleanly, and what parses renders.
func FuzzGraph(f *testing.F) {
	seed(f, "*.json")
	f.Add([]byte(`[{"id":"1","seriesMasterId":"1","originalStart":"x","cancelledOccurrences":["."],"recurrence":{"pattern":{"type":"weekly","daysOfWeek":[""]},"range":{"type":"endDate","endDate":"2026-02-01"}}}]`))
	f.Add([]byte(`{"id":"c","emailAddresses":[{"address":"a@b"}],"homeAddress":{"city":"X;Y\\"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if evs, err := EventsFromGraph(b, time.Unix(1, 0)); err == nil {
			for _, ev := range evs {
				if _, err := RenderCalendar(ev.Calendar, time.Unix(1, 0)); err != nil || ev.UID == "" {
					t.Fatalf("event %q: %v", ev.Calendar, err)
				}
			}
		}
		if cs, err := ContactsFromGraph(b); err == nil {
			for _, c := range cs {
				if _, err := RenderCard(c.Card); err != nil || c.UID == "" {
					t.Fatalf("contact %q: %v", c.Card, err)
				}
			}
		}
	})
}

// checkDAVCard: what the CardDAV view writes (DAVCard through go-vcard's
// encoder) reads back as the stored card.
func checkDAVCard(t *testing.T, text string, stored vcard.Card) {
	t.Helper()
	dc, err := DAVCard(text)
	if err != nil {
		t.Fatalf("DAVCard: %v", err)
	}
	var buf bytes.Buffer
	if err := vcard.NewEncoder(&buf).Encode(dc); err != nil {
		t.Fatalf("go-vcard encoder: %v", err)
	}
	got := parseCards(t, buf.Bytes())
	if len(got) != 1 {
		t.Fatalf("%d cards from the CardDAV view:\n%q", len(got), buf.Bytes())
	}
	if w, g := canonCard(stored), canonCard(got[0]); !slices.Equal(w, g) {
		t.Fatalf("the CardDAV view differs from the stored card:\n%s", diff(w, g))
	}
}
