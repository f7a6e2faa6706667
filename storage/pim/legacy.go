package pim

import (
	"strings"
	"time"

	"github.com/holdfast/holdfast/storage"
)

// EventCalendar returns the calendar object of an event item: its
// Calendar, or for an item stored before Calendar existed, the object
// made again from its Original (the VEVENT block, alarms included, or
// the Graph JSON) when that gives back one object with the item's UID;
// else "" (render the fields).
func EventCalendar(ev storage.Event, stamp time.Time) string {
	if ev.Calendar != "" {
		return ev.Calendar
	}
	var (
		evs []storage.Event
		err error
	)
	switch {
	case ev.OriginalType == OriginalICS && strings.HasPrefix(strings.ToUpper(ev.Original), "BEGIN:VEVENT"):
		evs, err = EventsFromICS([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"+ProductID+"\r\n"+ev.Original+"END:VCALENDAR\r\n"), stamp)
	case ev.OriginalType == OriginalGraph:
		evs, err = EventsFromGraph([]byte(ev.Original), stamp)
	default:
		return ""
	}
	if err != nil || len(evs) != 1 || evs[0].UID != ev.UID {
		return ""
	}
	return evs[0].Calendar
}

// ContactCard returns the card of a contact item: its Card, or for an
// item stored before Card existed, the card made again from its Original
// (the vCard or the Graph JSON) when that gives back one card with the
// item's UID; else "" (render the fields).
func ContactCard(c storage.Contact) string {
	if c.Card != "" {
		return c.Card
	}
	var (
		cs  []storage.Contact
		err error
	)
	switch c.OriginalType {
	case OriginalVCF:
		cs, err = ContactsFromVCF([]byte(c.Original))
	case OriginalGraph:
		cs, err = ContactsFromGraph([]byte(c.Original))
	default:
		return ""
	}
	if err != nil || len(cs) != 1 || cs[0].UID != c.UID {
		return ""
	}
	return cs[0].Card
}
