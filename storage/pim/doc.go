// Package pim converts calendars and contacts between the forms users back
// them up in (iCalendar files, vCard files, Microsoft Graph JSON) and the
// [storage.Event] and [storage.Contact] items the store keeps, and renders
// those back as .ics and .vcf for exports. iCalendar is parsed and written
// with go-ical, vCard with go-vcard.
//
// # Lossless
//
// An event item keeps its whole calendar object (RFC 4791 4.1): every
// component with its UID, the series and its exceptions (RECURRENCE-ID)
// together, their alarms, the VTIMEZONEs they use, and every property and
// parameter as the user backed it up. A contact item keeps its whole card,
// groups and parameters included. What a strict writer cannot write is
// kept under an X- name rather than dropped (see [EventsFromICS]). Graph
// JSON is mapped field by field to iCalendar or vCard properties; a field
// with no exact property is kept whole as an X-HOLDFAST-GRAPH property
// whose X-FIELD parameter names it, and the JSON itself stays in Original.
//
// # Limits
//
// What the libraries cannot tell apart is not kept apart: go-vcard reads
// an escaped comma and a list comma alike, so a comma inside a component
// of N or ADR comes back as a list separator, and elsewhere as escaped
// text. go-webdav writes CardDAV answers with go-vcard's encoder, which
// cannot write an escaped semicolon inside N, ADR or ORG or quote a
// parameter, so those answers carry parameter values split at their
// commas, and "\;" as "\\;" (the .vcf files have neither limit). A
// VTIMEZONE no component of the file uses is not kept. Input that is not
// UTF-8 is read as ISO-8859-1.
//
// # File names
//
// [FileName] maps a UID to a file name: the UID itself when it is made of
// letters, digits and "@._+=-" only (and does not start with "."), else
// every other byte (and "%") percent-encoded, so distinct UIDs never share
// a name. Names longer than 200 bytes keep a 160-byte prefix and add "~"
// and 32 hex digits of the UID's SHA-256.
package pim
