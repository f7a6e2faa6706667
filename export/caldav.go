package export

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/holdfast/holdfast"
)

// CalDAV and CardDAV views of a hold: the same events and contacts as the
// .ics and .vcf files, for calendar and address-book clients. Under
// prefix (for example /dav/holds/{id}/caldav):
//
//	{prefix}/counsel/                       the signed-in principal
//	{prefix}/counsel/calendars/             calendar home (contacts/ for CardDAV)
//	{prefix}/counsel/calendars/{email}/     one calendar (address book) per custodian
//	{prefix}/counsel/calendars/{email}/{name}.ics
//
// Both are read-only: every write answers 403.

const principalSegment = "counsel"

// CalDAV returns the hold's CalDAV backend mounted at prefix.
func (e *Exporter) CalDAV(h holdfast.LegalHold, prefix string) caldav.Backend {
	return &calBackend{dav: e.newDAV(h, prefix, "calendars", "text/calendar")}
}

// CardDAV returns the hold's CardDAV backend mounted at prefix.
func (e *Exporter) CardDAV(h holdfast.LegalHold, prefix string) carddav.Backend {
	return &cardBackend{dav: e.newDAV(h, prefix, "contacts", "text/vcard")}
}

// dav is what both views share: the custodians' trees and the paths.
type dav struct {
	fs     *holdFS
	prefix string // no trailing slash
	home   string // {prefix}/counsel/{kind}/
	mime   string // the node type the view serves
}

func (e *Exporter) newDAV(h holdfast.LegalHold, prefix, kind, mime string) dav {
	prefix = strings.TrimSuffix(prefix, "/")
	return dav{fs: &holdFS{e: e, hold: h}, prefix: prefix, home: prefix + "/" + principalSegment + "/" + kind + "/", mime: mime}
}

func (d dav) principal() string { return d.prefix + "/" + principalSegment + "/" }

// collections returns the custodians' emails, sorted.
func (d dav) collections(ctx context.Context) ([]string, error) {
	cs, err := d.fs.custodians(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cs))
	for e := range cs {
		out = append(out, e)
	}
	slices.Sort(out)
	return out, nil
}

// collectionOf returns the custodian email a collection path names.
func (d dav) collectionOf(p string) (string, bool) {
	p = path.Clean(p)
	rest, ok := strings.CutPrefix(p+"/", d.home)
	if !ok {
		return "", false
	}
	email, _, _ := strings.Cut(rest, "/")
	return email, email != ""
}

// objects returns the custodian's objects of the view's type, each with
// the path it is served at; names are made unique.
func (d dav) objects(ctx context.Context, email string) (map[string]*node, error) {
	t, err := d.fs.custodianTree(ctx, email)
	if err != nil {
		return nil, err
	}
	out := map[string]*node{}
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.sorted {
			if c.dir {
				walk(c)
				continue
			}
			if !strings.HasPrefix(c.mime, d.mime) || c.data == nil {
				continue
			}
			name := c.name
			ext := path.Ext(name)
			for i := 2; out[d.home+email+"/"+name] != nil; i++ {
				name = strings.TrimSuffix(c.name, ext) + "-" + strconv.Itoa(i) + ext
			}
			out[d.home+email+"/"+name] = c
		}
	}
	walk(t.root)
	return out, nil
}

func (d dav) object(ctx context.Context, p string) (*node, error) {
	email, ok := d.collectionOf(p)
	if !ok {
		return nil, notFound(p)
	}
	objs, err := d.objects(ctx, email)
	if err != nil {
		return nil, err
	}
	n, ok := objs[path.Clean(p)]
	if !ok {
		return nil, notFound(p)
	}
	return n, nil
}

// custodianOf returns the custodian email of a collection path, if the
// hold has that custodian.
func (d dav) custodianOf(ctx context.Context, p string) (string, error) {
	email, ok := d.collectionOf(p)
	if !ok {
		return "", notFound(p)
	}
	cs, err := d.fs.custodians(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := cs[email]; !ok {
		return "", notFound(p)
	}
	return email, nil
}

// getObject converts the object at p.
func getObject[T any](ctx context.Context, d dav, p string, conv func(string, *node) (*T, error)) (*T, error) {
	n, err := d.object(ctx, p)
	if err != nil {
		return nil, err
	}
	return conv(path.Clean(p), n)
}

// listObjects converts every object of the collection at p, by path.
func listObjects[T any](ctx context.Context, d dav, p string, conv func(string, *node) (*T, error)) ([]T, error) {
	email, ok := d.collectionOf(p)
	if !ok {
		return nil, notFound(p)
	}
	objs, err := d.objects(ctx, email)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(objs))
	for _, op := range slices.Sorted(maps.Keys(objs)) {
		o, err := conv(op, objs[op])
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, nil
}

// ObjectFile returns the bytes GET serves for the calendar or address
// object at p of a CalDAV or CardDAV view mounted at prefix: the .ics or
// .vcf file of the tree, folded and escaped as the renderers write it.
// view is "caldav" or "carddav". Missing: an error matching ErrNotFound.
func (e *Exporter) ObjectFile(ctx context.Context, h holdfast.LegalHold, prefix, view, p string) (data []byte, etag, mime string, mod time.Time, err error) {
	var d dav
	switch view {
	case "caldav":
		d = e.newDAV(h, prefix, "calendars", "text/calendar")
	case "carddav":
		d = e.newDAV(h, prefix, "contacts", "text/vcard")
	default:
		return nil, "", "", time.Time{}, notFound(p)
	}
	n, err := d.object(ctx, p)
	if err != nil {
		return nil, "", "", time.Time{}, err
	}
	return n.data, n.etag, n.mime, n.mod, nil
}

func (d dav) CurrentUserPrincipal(context.Context) (string, error) { return d.principal(), nil }

type calBackend struct{ dav }

func (b *calBackend) CalendarHomeSetPath(context.Context) (string, error) { return b.home, nil }

func (b *calBackend) CreateCalendar(context.Context, *caldav.Calendar) error { return errReadOnly }

func (b *calBackend) ListCalendars(ctx context.Context) ([]caldav.Calendar, error) {
	emails, err := b.collections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]caldav.Calendar, 0, len(emails))
	for _, e := range emails {
		out = append(out, b.calendar(e))
	}
	return out, nil
}

func (b *calBackend) calendar(email string) caldav.Calendar {
	return caldav.Calendar{Path: b.home + email + "/", Name: email, Description: "Calendar of custodian " + email + " (read-only legal hold export)",
		SupportedComponentSet: []string{ical.CompEvent, ical.CompToDo, ical.CompJournal}}
}

func (b *calBackend) GetCalendar(ctx context.Context, p string) (*caldav.Calendar, error) {
	email, err := b.custodianOf(ctx, p)
	if err != nil {
		return nil, err
	}
	c := b.calendar(email)
	return &c, nil
}

func (b *calBackend) toObject(p string, n *node) (*caldav.CalendarObject, error) {
	cal, err := ical.NewDecoder(bytes.NewReader(n.data)).Decode()
	if err != nil {
		return nil, err
	}
	// GET serves the .ics file itself (see ObjectFile), so the ETag and
	// length are of those bytes; REPORT carries go-ical's encoding of the
	// same calendar.
	return &caldav.CalendarObject{Path: p, ModTime: n.mod, ContentLength: int64(len(n.data)), ETag: n.etag, Data: cal}, nil
}

func (b *calBackend) GetCalendarObject(ctx context.Context, p string, _ *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	return getObject(ctx, b.dav, p, b.toObject)
}

func (b *calBackend) ListCalendarObjects(ctx context.Context, p string, _ *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	return listObjects(ctx, b.dav, p, b.toObject)
}

// QueryCalendarObjects answers a calendar-query with go-webdav's matcher,
// object by object. The matcher expands recurrences with go-ical, which
// cannot read an EXDATE or RDATE listing several dates, so it sees those
// as one property per date (RFC 5545 3.8.5.1 gives both forms one
// meaning); an object it still cannot evaluate is answered rather than
// failing the whole query or hiding held data.
func (b *calBackend) QueryCalendarObjects(ctx context.Context, p string, q *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	all, err := b.ListCalendarObjects(ctx, p, nil)
	if err != nil || q == nil {
		return all, err
	}
	var out []caldav.CalendarObject
	for _, co := range all {
		probe := co
		probe.Data = &ical.Calendar{Component: splitDateLists(co.Data.Component)}
		if ok, err := caldav.Match(q.CompFilter, &probe); ok || err != nil {
			out = append(out, co)
		}
	}
	return out, nil
}

// splitDateLists returns c with every EXDATE and RDATE of several values
// as one property per value; c is not changed.
func splitDateLists(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: ical.Props{}}
	for name, props := range c.Props {
		for _, p := range props {
			if name != ical.PropExceptionDates && name != ical.PropRecurrenceDates || !strings.Contains(p.Value, ",") {
				out.Props[name] = append(out.Props[name], p)
				continue
			}
			for _, v := range strings.Split(p.Value, ",") {
				out.Props[name] = append(out.Props[name], ical.Prop{Name: p.Name, Params: p.Params, Value: v})
			}
		}
	}
	for _, ch := range c.Children {
		out.Children = append(out.Children, splitDateLists(ch))
	}
	return out
}

func (b *calBackend) PutCalendarObject(context.Context, string, *ical.Calendar, *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	return nil, errReadOnly
}

func (b *calBackend) DeleteCalendarObject(context.Context, string) error { return errReadOnly }

type cardBackend struct{ dav }

func (b *cardBackend) AddressBookHomeSetPath(context.Context) (string, error) { return b.home, nil }

func (b *cardBackend) book(email string) carddav.AddressBook {
	return carddav.AddressBook{Path: b.home + email + "/", Name: email, Description: "Contacts of custodian " + email + " (read-only legal hold export)",
		SupportedAddressData: []carddav.AddressDataType{{ContentType: vcard.MIMEType, Version: "4.0"}, {ContentType: vcard.MIMEType, Version: "3.0"}}}
}

func (b *cardBackend) ListAddressBooks(ctx context.Context) ([]carddav.AddressBook, error) {
	emails, err := b.collections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]carddav.AddressBook, 0, len(emails))
	for _, e := range emails {
		out = append(out, b.book(e))
	}
	return out, nil
}

func (b *cardBackend) GetAddressBook(ctx context.Context, p string) (*carddav.AddressBook, error) {
	email, err := b.custodianOf(ctx, p)
	if err != nil {
		return nil, err
	}
	ab := b.book(email)
	return &ab, nil
}

func (b *cardBackend) CreateAddressBook(context.Context, *carddav.AddressBook) error {
	return errReadOnly
}
func (b *cardBackend) DeleteAddressBook(context.Context, string) error { return errReadOnly }

func (b *cardBackend) toObject(p string, n *node) (*carddav.AddressObject, error) {
	if n.contact == nil {
		return nil, webdav.NewHTTPError(http.StatusNotFound, errors.New("not a contact"))
	}
	card, err := Card(*n.contact)
	if err != nil {
		return nil, err
	}
	// GET serves the .vcf file itself (see ObjectFile): the ETag and
	// length are of those bytes; REPORT carries go-vcard's encoding.
	return &carddav.AddressObject{Path: p, ModTime: n.mod, ContentLength: int64(len(n.data)), ETag: n.etag, Card: card}, nil
}

func (b *cardBackend) GetAddressObject(ctx context.Context, p string, _ *carddav.AddressDataRequest) (*carddav.AddressObject, error) {
	return getObject(ctx, b.dav, p, b.toObject)
}

func (b *cardBackend) ListAddressObjects(ctx context.Context, p string, _ *carddav.AddressDataRequest) ([]carddav.AddressObject, error) {
	return listObjects(ctx, b.dav, p, b.toObject)
}

func (b *cardBackend) QueryAddressObjects(ctx context.Context, p string, q *carddav.AddressBookQuery) ([]carddav.AddressObject, error) {
	all, err := b.ListAddressObjects(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return carddav.Filter(q, all)
}

func (b *cardBackend) PutAddressObject(context.Context, string, vcard.Card, *carddav.PutAddressObjectOptions) (*carddav.AddressObject, error) {
	return nil, errReadOnly
}

func (b *cardBackend) DeleteAddressObject(context.Context, string) error { return errReadOnly }
