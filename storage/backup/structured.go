package backup

import (
	"encoding/json"
	"time"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

// The calendar and contacts sources: package pim reads .ics and .vcf
// files (go-ical, go-vcard) and Microsoft Graph JSON into calendar
// objects and cards that keep everything the user backed up; each becomes
// one item holding its storage.Event or storage.Contact as JSON.

// parseICS reads the calendar objects of an iCalendar file, one per UID.
func parseICS(b []byte, mtime time.Time) ([]structured, error) {
	evs, err := pim.EventsFromICS(b, mtime)
	if err != nil {
		return nil, err
	}
	return eventItems(evs)
}

// parseGraphEvents reads Microsoft Graph event JSON.
func parseGraphEvents(b []byte, mtime time.Time) ([]structured, error) {
	evs, err := pim.EventsFromGraph(b, mtime)
	if err != nil {
		return nil, err
	}
	return eventItems(evs)
}

func eventItems(evs []storage.Event) ([]structured, error) {
	out := make([]structured, 0, len(evs))
	for _, ev := range evs {
		js, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: ev.UID, created: ev.Created, modified: ev.Modified, json: js})
	}
	return out, nil
}

// parseVCF reads the vCards of a file (4.0, 3.0 or 2.1).
func parseVCF(b []byte, _ time.Time) ([]structured, error) {
	cs, err := pim.ContactsFromVCF(b)
	if err != nil {
		return nil, err
	}
	return contactItems(cs)
}

// parseGraphContacts reads Microsoft Graph contact JSON.
func parseGraphContacts(b []byte, _ time.Time) ([]structured, error) {
	cs, err := pim.ContactsFromGraph(b)
	if err != nil {
		return nil, err
	}
	return contactItems(cs)
}

func contactItems(cs []storage.Contact) ([]structured, error) {
	out := make([]structured, 0, len(cs))
	for _, c := range cs {
		js, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: c.UID, created: c.Created, modified: c.Modified, json: js})
	}
	return out, nil
}
