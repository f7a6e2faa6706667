package storage

import "time"

// Content types of items. Files keep whatever type the client detected;
// mail, events and contacts use these.
const (
	// ContentTypeMail is an item holding one message's original RFC 5322
	// bytes, unchanged.
	ContentTypeMail = "message/rfc822"
	// ContentTypeEvent is an item holding one Event as JSON.
	ContentTypeEvent = "application/vnd.holdfast.event+json"
	// ContentTypeContact is an item holding one Contact as JSON.
	ContentTypeContact = "application/vnd.holdfast.contact+json"
)

// Event is a calendar event as the store keeps it: structured, so an
// export can render it as iCalendar (RFC 5545) whatever form it came in,
// with the form it came in kept in Original. Clients build it from a
// VEVENT of an .ics file or from a Microsoft Graph event.
type Event struct {
	UID         string    `json:"uid"`
	Summary     string    `json:"summary,omitempty"`
	Description string    `json:"description,omitempty"`
	Location    string    `json:"location,omitempty"`
	Start       time.Time `json:"start,omitzero"`
	End         time.Time `json:"end,omitzero"`
	// AllDay events use only the dates of Start and End (End exclusive).
	AllDay bool `json:"all_day,omitempty"`
	// TimeZone is the IANA or Windows zone name the source gave, if any;
	// Start and End are instants regardless.
	TimeZone  string   `json:"time_zone,omitempty"`
	Organizer *Person  `json:"organizer,omitempty"`
	Attendees []Person `json:"attendees,omitempty"`
	// Recurrence holds RRULE values ("FREQ=WEEKLY;BYDAY=MO").
	Recurrence []string `json:"recurrence,omitempty"`
	// Status is "confirmed", "tentative" or "cancelled" when known.
	Status   string    `json:"status,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	Modified time.Time `json:"modified,omitzero"`
	// Calendar is the whole calendar object (RFC 4791 4.1) as iCalendar
	// text: every component with the UID (the series and its exceptions,
	// with their alarms), the VTIMEZONEs they use, every property and
	// parameter. Exports serve it; the fields above summarize its main
	// component. Empty in items written before it existed, which exports
	// render from Original when that gives the object back
	// (pim.EventCalendar), else from the fields.
	Calendar string `json:"calendar,omitempty"`
	// Original is the event as received when that is not Calendar (Graph
	// JSON), of type OriginalType ("text/calendar" when Calendar is the
	// original, or "application/json"). Older items hold a VEVENT block.
	Original     string `json:"original,omitempty"`
	OriginalType string `json:"original_type,omitempty"`
}

// Person is an organizer or attendee.
type Person struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Status is the attendee's answer ("accepted", "declined", …) when known.
	Status string `json:"status,omitempty"`
}

// Contact is an address-book entry as the store keeps it: structured, so an
// export can render it as vCard (RFC 6350), with the form it came in kept
// in Original. Clients build it from a vCard or a Microsoft Graph contact.
type Contact struct {
	UID          string    `json:"uid"`
	DisplayName  string    `json:"display_name,omitempty"`
	GivenName    string    `json:"given_name,omitempty"`
	MiddleName   string    `json:"middle_name,omitempty"`
	Surname      string    `json:"surname,omitempty"`
	Nickname     string    `json:"nickname,omitempty"`
	Emails       []Labeled `json:"emails,omitempty"`
	Phones       []Labeled `json:"phones,omitempty"`
	Addresses    []Address `json:"addresses,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Department   string    `json:"department,omitempty"`
	JobTitle     string    `json:"job_title,omitempty"`
	// Birthday is an ISO 8601 date ("1985-04-12") or "--04-12".
	Birthday string    `json:"birthday,omitempty"`
	Notes    string    `json:"notes,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	Modified time.Time `json:"modified,omitzero"`
	// Card is the whole vCard (RFC 6350, or 3.0 or 2.1 as backed up) with
	// every property, group and parameter. Exports serve it; the fields
	// above summarize it. Empty in items written before it existed, which
	// exports render from Original when that gives the card back
	// (pim.ContactCard), else from the fields.
	Card string `json:"card,omitempty"`
	// Original is the contact as received when that is not Card (Graph
	// JSON), of type OriginalType ("text/vcard" when Card is the original,
	// or "application/json"). Older items hold the vCard here.
	Original     string `json:"original,omitempty"`
	OriginalType string `json:"original_type,omitempty"`
}

// Labeled is an e-mail address or phone number with its kind ("work",
// "home", "mobile", …; empty when the source gave none).
type Labeled struct {
	Label string `json:"label,omitempty"`
	Value string `json:"value"`
}

// Address is a postal address.
type Address struct {
	Label      string `json:"label,omitempty"`
	Street     string `json:"street,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}
