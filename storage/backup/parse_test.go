package backup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestCalendarItemsOnePerUID: a series and its exception (RFC 5545
// 3.8.4.4, RECURRENCE-ID) are one item, named by its UID as the export
// names the file, and a UID that is no file name is mapped (pim.FileName).
func TestCalendarItemsOnePerUID(t *testing.T) {
	dir := t.TempDir()
	in := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:series@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:series@example.com\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T090000Z\r\nDTSTART:20260112T100000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:a/b c\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(filepath.Join(dir, "work.ics"), []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	es, err := collect(storage.SourceCalendar, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Base(dir)
	var paths []string
	for _, e := range es {
		paths = append(paths, e.item.Path)
		var ev storage.Event
		if err := json.Unmarshal(e.data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.UID == "series@example.com" && (strings.Count(ev.Calendar, "BEGIN:VEVENT") != 2 || !strings.Contains(ev.Calendar, "RECURRENCE-ID:20260112T090000Z") || ev.Summary != "Weekly") {
			t.Errorf("series = %+v", ev)
		}
	}
	want := []string{root + "/work/a%2Fb%20c", root + "/work/series@example.com"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}
