package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./export -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got %q\nwant %q", name, got, want)
	}
}

// checkLines asserts RFC 5545 3.1 / RFC 6350 3.2 line rules: CRLF only,
// at most 75 octets, continuation lines start with a space, no broken
// UTF-8.
func checkLines(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Errorf("does not end with CRLF")
	}
	if bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) || bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) {
		t.Errorf("bare CR or LF")
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
		if !utf8.Valid(l) {
			t.Errorf("line splits a UTF-8 sequence: %q", l)
		}
	}
}

// The event of RFC 5545 3.6.1's first example (a business meeting),
// with a long description and text that tries to start components.
var goldenEvent = storage.Event{
	UID:         "19970901T130000Z-123401@example.com",
	Summary:     "Annual Employee Review",
	Description: "Agenda: budget; hiring, and the new office — café on floor 3. " + strings.Repeat("More text. ", 8),
	Location:    "Conference room\r\nEND:VEVENT\r\nBEGIN:VTODO",
	Start:       time.Date(1997, 9, 3, 16, 30, 0, 0, time.FixedZone("EDT", -4*3600)),
	End:         time.Date(1997, 9, 3, 19, 0, 0, 0, time.FixedZone("EDT", -4*3600)),
	Status:      "confirmed",
	Organizer:   &storage.Person{Name: `Jane "Boss" Doe; CEO`, Email: "jdoe@example.com"},
	Attendees: []storage.Person{
		{Name: "John Smith", Email: "jsmith@example.com", Status: "accepted"},
		{Name: "Bad\r\nATTENDEE:mailto:evil@example.com", Email: "x@example.com\r\nX-EVIL:1", Status: "declined"},
	},
	Recurrence: []string{"FREQ=YEARLY", "FREQ=DAILY\r\nX-EVIL:1"},
	Created:    time.Date(1997, 8, 1, 0, 0, 0, 0, time.UTC),
	Modified:   time.Date(1997, 8, 2, 12, 0, 0, 0, time.UTC),
}

func TestICSGolden(t *testing.T) {
	b, err := ICS(goldenEvent, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, b)
	golden(t, "event.ics.golden", b)
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Children) != 1 || len(cal.Events()) != 1 {
		t.Fatalf("components = %d, want one VEVENT", len(cal.Children))
	}
	ev := cal.Events()[0]
	loc, _ := ev.Props.Text(ical.PropLocation)
	if loc != "Conference room\nEND:VEVENT\nBEGIN:VTODO" {
		t.Errorf("LOCATION = %q", loc)
	}
	if n := len(ev.Props.Values(ical.PropAttendee)); n != 2 || ev.Props.Get("X-EVIL") != nil {
		t.Errorf("attendees = %d, X-EVIL = %v", n, ev.Props.Get("X-EVIL"))
	}
	start, err := ev.DateTimeStart(time.UTC)
	if err != nil || !start.Equal(goldenEvent.Start) {
		t.Errorf("DTSTART = %v %v", start, err)
	}
	if got := ev.Props.Get(ical.PropDateTimeStart).Value; got != "19970903T203000Z" {
		t.Errorf("DTSTART is %q, want UTC", got)
	}
	if rr := ev.Props.Values(ical.PropRecurrenceRule); len(rr) != 1 {
		t.Errorf("RRULE = %v, want the one valid rule", rr)
	}
}

func TestICSAllDay(t *testing.T) {
	b, err := ICS(storage.Event{UID: "d", Summary: "Holiday", AllDay: true,
		Start: time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)},
		time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// An event with neither modification nor creation time is stamped
	// with the item's time, not 1970.
	if !bytes.Contains(b, []byte("DTSTAMP:20261201T080000Z\r\n")) {
		t.Errorf("DTSTAMP of an event without times:\n%s", b)
	}
	if !bytes.Contains(b, []byte("DTSTART;VALUE=DATE:20261225\r\n")) || !bytes.Contains(b, []byte("DTEND;VALUE=DATE:20261226\r\n")) {
		t.Errorf("all-day event:\n%s", b)
	}
	if _, err := ICS(storage.Event{UID: "\r\n"}, time.Time{}); err == nil {
		t.Error("an event without a usable UID rendered")
	}
}

// The contact of RFC 6350 8's example (Simon Perreault), with text that
// tries to start properties.
var goldenContact = storage.Contact{
	UID:          "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
	DisplayName:  "Simon Perreault",
	GivenName:    "Simon",
	Surname:      "Perreault",
	Emails:       []storage.Labeled{{Label: "work", Value: "simon.perreault@viagenie.ca"}, {Label: "home\r\nX-EVIL", Value: "simon@example.com\r\nTEL:1"}},
	Phones:       []storage.Labeled{{Label: "work", Value: "+1-418-656-9254"}},
	Addresses:    []storage.Address{{Label: "work", Street: "2875 boul. Laurier, suite D2-630", City: "Quebec", Region: "QC", PostalCode: "G1V 2M2", Country: "Canada"}},
	Organization: "Viagenie; Inc.",
	Department:   "R&D",
	JobTitle:     "Engineer",
	Birthday:     "--0203",
	Notes:        "Line one\nLine two; with, punctuation \\ and a long tail: " + strings.Repeat("é", 40),
	Modified:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func TestVCFGolden(t *testing.T) {
	b, err := VCF(goldenContact)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, b)
	golden(t, "contact.vcf.golden", b)
	if !bytes.HasPrefix(b, []byte("BEGIN:VCARD\r\nVERSION:4.0\r\n")) {
		t.Errorf("VERSION does not follow BEGIN")
	}
	dec := vcard.NewDecoder(bytes.NewReader(b))
	card, err := dec.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(); err == nil {
		t.Error("more than one card")
	}
	if card.Get("X-EVIL") != nil || card.Get(vcard.FieldTelephone) == nil || len(card[vcard.FieldTelephone]) != 1 || len(card[vcard.FieldEmail]) != 2 {
		t.Errorf("card fields = %v", card)
	}
	if card.PreferredValue(vcard.FieldFormattedName) != "Simon Perreault" {
		t.Errorf("FN = %q", card.PreferredValue(vcard.FieldFormattedName))
	}
}

func TestVCFNeedsFN(t *testing.T) {
	b, err := VCF(storage.Contact{UID: "x"})
	if err != nil || !bytes.Contains(b, []byte("\r\nFN:Unnamed contact\r\n")) {
		t.Errorf("%s %v", b, err)
	}
	b, _ = VCF(storage.Contact{UID: "y", Emails: []storage.Labeled{{Value: "a@example.com"}}})
	if !bytes.Contains(b, []byte("\r\nFN:a@example.com\r\n")) {
		t.Errorf("%s", b)
	}
}

func TestFold(t *testing.T) {
	long := "DESCRIPTION:" + strings.Repeat("a", 70) + "ééé" + strings.Repeat("b", 80)
	got := pim.Fold([]byte(long + "\r\nX:1\n"))
	checkLines(t, got)
	if unfolded := strings.ReplaceAll(string(got), "\r\n ", ""); unfolded != long+"\r\nX:1\r\n" {
		t.Errorf("unfolding does not give the input back: %q", unfolded)
	}
}

func FuzzICS(f *testing.F) {
	f.Add("uid@example.com", "Summary; a, b", "line\nline", "Jane \"J\" Doe", "jane@example.com", "FREQ=WEEKLY;BYDAY=MO", int64(873300000), int64(3600))
	f.Add("\r\n", "END:VEVENT", "\x00\x7f", "", "", "", int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, uid, summary, desc, name, email, rrule string, start, dur int64) {
		ev := storage.Event{UID: uid, Summary: summary, Description: desc, Start: time.Unix(start, 0), End: time.Unix(start+dur, 0),
			Organizer: &storage.Person{Name: name, Email: email}, Attendees: []storage.Person{{Name: name, Email: email}}, Recurrence: []string{rrule}}
		b, err := ICS(ev, time.Unix(start, 0))
		if err != nil {
			if clean(uid) == "" {
				return
			}
			t.Fatalf("ICS: %v", err)
		}
		checkLines(t, b)
		cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, b)
		}
		if len(cal.Children) != 1 || cal.Children[0].Name != ical.CompEvent || len(cal.Children[0].Children) != 0 {
			t.Fatalf("components: %+v", cal.Children)
		}
		for _, p := range []string{"X-EVIL", "BEGIN", "END"} {
			if cal.Children[0].Props.Get(p) != nil || cal.Props.Get(p) != nil {
				t.Fatalf("injected property %s", p)
			}
		}
	})
}

func FuzzVCF(f *testing.F) {
	f.Add("uid", "Ann Lee", "Lee", "ann@example.com", "work", "note\nmore", "Acme; Inc")
	f.Add("u\r\nEND:VCARD", "\r\nBEGIN:VCARD", ";;;", "\\", "a\"b:c", "\x00", ",")
	f.Fuzz(func(t *testing.T, uid, fn, surname, email, label, note, org string) {
		c := storage.Contact{UID: uid, DisplayName: fn, Surname: surname, Emails: []storage.Labeled{{Label: label, Value: email}},
			Notes: note, Organization: org, Addresses: []storage.Address{{Label: label, Street: note, City: org}}}
		b, err := VCF(c)
		if err != nil {
			if clean(uid) == "" {
				return
			}
			t.Fatalf("VCF: %v", err)
		}
		checkLines(t, b)
		dec := vcard.NewDecoder(bytes.NewReader(b))
		card, err := dec.Decode()
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, b)
		}
		if _, err := dec.Decode(); err == nil {
			t.Fatalf("several cards in %q", b)
		}
		if len(card[vcard.FieldFormattedName]) != 1 || len(card[vcard.FieldUID]) != 1 || len(card[vcard.FieldVersion]) != 1 || len(card[vcard.FieldNote]) > 1 {
			t.Fatalf("fields: %v\n%q", card, b)
		}
		if bytes.Count(b, []byte("\nBEGIN:")) != 0 || bytes.Count(b, []byte("\r\nEND:")) != 1 {
			t.Fatalf("a component boundary was injected: %q", b)
		}
	})
}

// TestCardTypedAddress: a contact with a typed address becomes a CardDAV
// card (it used to panic, assigning into the nil parameters of the ADR
// field, and every PROPFIND or multiget of the address book was a 500).
func TestCardTypedAddress(t *testing.T) {
	card, err := Card(storage.Contact{UID: "a", Addresses: []storage.Address{{Label: "home", Street: "1 Main St", City: "Town"}}})
	if err != nil {
		t.Fatal(err)
	}
	adr := card.Get(vcard.FieldAddress)
	if adr == nil || adr.Params.Get(vcard.ParamType) != "home" || adr.Value != ";;1 Main St;Town;;;" {
		t.Errorf("ADR = %+v", adr)
	}
}
