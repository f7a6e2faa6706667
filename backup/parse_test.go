package backup

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/holdfast/holdfast/storage"
)

// FuzzSplitMbox: splitting never panics, and no message is longer than
// the mbox it came from.
func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From a Mon Jan 1 00:00:00 2026\nSubject: x\n\nbody\n\nFrom b Tue\n>From quoted\n"))
	f.Add([]byte("From \n"))
	f.Add([]byte("no separator"))
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		for _, m := range splitMbox(b) {
			total += len(m)
		}
		if total > len(b) {
			t.Errorf("%d message bytes from a %d-byte mbox", total, len(b))
		}
	})
}

// FuzzParseICS: any input parses or fails cleanly, and every event is
// valid JSON with a UID.
func FuzzParseICS(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART:20260101T100000Z\r\nSUMMARY:a\\, b\r\n c\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/Paris:20260101T100000\nBEGIN:VALARM\nEND:VALARM\nEND:VEVENT\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := parseICS(b)
		if err != nil {
			return
		}
		for _, s := range evs {
			var ev storage.Event
			if err := json.Unmarshal(s.json, &ev); err != nil || ev.UID == "" || ev.UID != s.uid {
				t.Errorf("event %q: %v", s.json, err)
			}
		}
	})
}

// FuzzParseVCF: likewise for vCards.
func FuzzParseVCF(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nFN:A\r\nN:B;A;;;\r\nADR:;;1 St;Town;;;\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\nitem1.EMAIL;INTERNET:a@b\nEND:VCARD"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := parseVCF(b)
		if err != nil {
			return
		}
		for _, s := range cs {
			var c storage.Contact
			if err := json.Unmarshal(s.json, &c); err != nil || c.UID == "" {
				t.Errorf("contact %q: %v", s.json, err)
			}
		}
	})
}

func TestICSEventNestedAlarmAndZones(t *testing.T) {
	// RFC 5545 section 3.6.6 (VALARM inside VEVENT) with a TZID start.
	in := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTART;TZID=Europe/Paris:20260701T100000\r\nDTEND;VALUE=DATE:20260702\r\n" +
		"BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nDESCRIPTION:alarm text\r\nEND:VALARM\r\nSUMMARY:After alarm\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	evs, err := parseICS([]byte(in))
	if err != nil || len(evs) != 1 {
		t.Fatalf("parseICS = %d, %v", len(evs), err)
	}
	var ev storage.Event
	json.Unmarshal(evs[0].json, &ev)
	if ev.Summary != "After alarm" || ev.Description != "" || ev.Start.Hour() != 8 || ev.TimeZone != "Europe/Paris" {
		t.Errorf("event = %+v", ev)
	}
	if !bytes.Contains([]byte(ev.Original), []byte("BEGIN:VALARM")) || !bytes.HasPrefix([]byte(ev.Original), []byte("BEGIN:VEVENT\r\n")) {
		t.Errorf("original = %q", ev.Original)
	}
}

// FuzzParseGraph: Graph event and contact JSON of any shape parses or
// fails cleanly, and what parses has an id.
func FuzzParseGraph(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"1","subject":"s","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"W. Europe Standard Time"},"recurrence":{"pattern":{"type":"weekly","daysOfWeek":["m"]},"range":{"type":"endDate","endDate":"2026-02-01"}}}]}`))
	f.Add([]byte(`[{"id":"c","emailAddresses":[{"address":"a@b"}],"homeAddress":{"city":"X"}}]`))
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []structuredParser{parseGraphEvents, parseGraphContacts} {
			recs, err := parse(b)
			if err != nil {
				continue
			}
			for _, r := range recs {
				if r.uid == "" || !json.Valid(r.json) {
					t.Errorf("record %q without id or with invalid JSON", r.json)
				}
			}
		}
	})
}
