package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// contentLine is one unfolded iCalendar/vCard line (RFC 5545 3.1, RFC 6350
// 3.2): NAME;PARAM=V;...:VALUE.
type contentLine struct {
	name   string
	params map[string]string
	value  string
	raw    string
}

// unfold splits text into content lines, joining continuation lines (those
// starting with a space or tab).
func unfold(b []byte) []string {
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func parseLine(l string) contentLine {
	cl := contentLine{raw: l, params: map[string]string{}}
	// The value starts at the first colon outside a quoted parameter.
	inQuote, colon := false, -1
	for i, r := range l {
		if r == '"' {
			inQuote = !inQuote
		} else if r == ':' && !inQuote {
			colon = i
			break
		}
	}
	head := l
	if colon >= 0 {
		head, cl.value = l[:colon], l[colon+1:]
	}
	parts := strings.Split(head, ";")
	cl.name = strings.ToUpper(parts[0])
	if i := strings.LastIndexByte(cl.name, '.'); i >= 0 {
		cl.name = cl.name[i+1:] // vCard group prefix (item1.EMAIL)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			cl.params["TYPE"] = strings.ToLower(k) // vCard 2.1 bare type
			continue
		}
		cl.params[strings.ToUpper(k)] = strings.Trim(v, `"`)
	}
	return cl
}

// unescapeText undoes TEXT escaping (RFC 5545 3.3.11).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitUnescaped splits a structured value at sep not preceded by a
// backslash, unescaping each part.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			parts = append(parts, unescapeText(s[start:i]))
			start = i + 1
		}
	}
	return append(parts, unescapeText(s[start:]))
}

// icsTime parses DATE-TIME or DATE values (RFC 5545 3.3.4, 3.3.5).
func icsTime(cl contentLine) (t time.Time, allDay bool, err error) {
	v := strings.TrimSpace(cl.value)
	if cl.params["VALUE"] == "DATE" || len(v) == 8 {
		t, err = time.Parse("20060102", v)
		return t, true, err
	}
	if strings.HasSuffix(v, "Z") {
		t, err = time.Parse("20060102T150405Z", v)
		return t, false, err
	}
	loc := time.UTC
	if tz := cl.params["TZID"]; tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	t, err = time.ParseInLocation("20060102T150405", v, loc)
	return t.UTC(), false, err
}

func mailto(v string) string {
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}

// block is the lines of one BEGIN:NAME … END:NAME component.
type block struct {
	lines []contentLine
	raw   string
}

// blocks returns the top-level components named name in text, nested
// components included in their lines' raw text but not parsed.
func blocks(b []byte, name string) []block {
	var out []block
	var cur *block
	depth := 0
	var raw strings.Builder
	for _, l := range unfold(b) {
		cl := parseLine(l)
		switch {
		case cl.name == "BEGIN" && strings.EqualFold(cl.value, name) && cur == nil:
			cur = &block{}
			raw.Reset()
		case cl.name == "BEGIN" && cur != nil:
			depth++
		case cl.name == "END" && strings.EqualFold(cl.value, name) && cur != nil && depth == 0:
			raw.WriteString(l + "\r\n")
			cur.raw = "BEGIN:" + strings.ToUpper(name) + "\r\n" + raw.String()
			out = append(out, *cur)
			cur = nil
			continue
		case cl.name == "END" && cur != nil:
			depth--
		}
		if cur != nil {
			if cl.name != "BEGIN" || depth > 0 {
				raw.WriteString(l + "\r\n")
			}
			if depth == 0 && cl.name != "BEGIN" && cl.name != "END" {
				cur.lines = append(cur.lines, cl)
			}
		}
	}
	return out
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// parseICS reads the VEVENTs of an iCalendar file (RFC 5545).
func parseICS(b []byte) ([]structured, error) {
	if !bytes.Contains(bytes.ToUpper(b[:min(len(b), 4096)]), []byte("BEGIN:VCALENDAR")) {
		return nil, fmt.Errorf("%w: not an iCalendar file (no BEGIN:VCALENDAR)", holdfast.ErrInvalid)
	}
	var out []structured
	for _, blk := range blocks(b, "VEVENT") {
		ev := storage.Event{Original: blk.raw, OriginalType: "text/calendar"}
		for _, cl := range blk.lines {
			switch cl.name {
			case "UID":
				ev.UID = cl.value
			case "SUMMARY":
				ev.Summary = unescapeText(cl.value)
			case "DESCRIPTION":
				ev.Description = unescapeText(cl.value)
			case "LOCATION":
				ev.Location = unescapeText(cl.value)
			case "DTSTART":
				t, allDay, err := icsTime(cl)
				if err != nil {
					return nil, fmt.Errorf("%w: DTSTART %q: %v", holdfast.ErrInvalid, cl.value, err)
				}
				ev.Start, ev.AllDay, ev.TimeZone = t, allDay, cl.params["TZID"]
			case "DTEND":
				if t, _, err := icsTime(cl); err == nil {
					ev.End = t
				}
			case "ORGANIZER":
				ev.Organizer = &storage.Person{Name: cl.params["CN"], Email: mailto(cl.value)}
			case "ATTENDEE":
				ev.Attendees = append(ev.Attendees, storage.Person{Name: cl.params["CN"], Email: mailto(cl.value),
					Status: strings.ToLower(cl.params["PARTSTAT"])})
			case "RRULE":
				ev.Recurrence = append(ev.Recurrence, cl.value)
			case "STATUS":
				ev.Status = strings.ToLower(cl.value)
			case "CREATED":
				ev.Created, _, _ = icsTime(cl)
			case "LAST-MODIFIED":
				ev.Modified, _, _ = icsTime(cl)
			}
		}
		if ev.UID == "" {
			ev.UID = hashID(blk.raw)
		}
		js, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: ev.UID, created: ev.Created, modified: ev.Modified, json: js})
	}
	return out, nil
}

// parseVCF reads the vCards of a file (RFC 6350; 3.0 and 2.1 too).
func parseVCF(b []byte) ([]structured, error) {
	var out []structured
	for _, blk := range blocks(b, "VCARD") {
		c := storage.Contact{Original: blk.raw, OriginalType: "text/vcard"}
		for _, cl := range blk.lines {
			label := strings.ToLower(strings.Split(cl.params["TYPE"], ",")[0])
			switch cl.name {
			case "UID":
				c.UID = cl.value
			case "FN":
				c.DisplayName = unescapeText(cl.value)
			case "N":
				n := splitUnescaped(cl.value, ';')
				n = append(n, "", "", "")
				c.Surname, c.GivenName, c.MiddleName = n[0], n[1], n[2]
			case "NICKNAME":
				c.Nickname = unescapeText(cl.value)
			case "EMAIL":
				c.Emails = append(c.Emails, storage.Labeled{Label: label, Value: cl.value})
			case "TEL":
				c.Phones = append(c.Phones, storage.Labeled{Label: label, Value: strings.TrimPrefix(cl.value, "tel:")})
			case "ADR":
				a := append(splitUnescaped(cl.value, ';'), "", "", "", "", "", "", "")
				c.Addresses = append(c.Addresses, storage.Address{Label: label, Street: a[2], City: a[3], Region: a[4], PostalCode: a[5], Country: a[6]})
			case "ORG":
				o := append(splitUnescaped(cl.value, ';'), "")
				c.Organization, c.Department = o[0], o[1]
			case "TITLE":
				c.JobTitle = unescapeText(cl.value)
			case "BDAY":
				c.Birthday = cl.value
				if t, err := time.Parse("20060102", cl.value); err == nil {
					c.Birthday = t.Format(time.DateOnly)
				}
			case "NOTE":
				c.Notes = unescapeText(cl.value)
			case "REV":
				for _, layout := range []string{"20060102T150405Z", time.RFC3339, "20060102"} {
					if t, err := time.Parse(layout, cl.value); err == nil {
						c.Modified = t.UTC()
						break
					}
				}
			}
		}
		if c.UID == "" {
			c.UID = hashID(blk.raw)
		}
		js, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: c.UID, modified: c.Modified, json: js})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no BEGIN:VCARD in the file", holdfast.ErrInvalid)
	}
	return out, nil
}

// graphList accepts one Graph object, an array of them, or a Graph
// collection page ({"value": [...]}).
func graphList(b []byte) ([]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	var list []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%w: Graph JSON: %v", holdfast.ErrInvalid, err)
		}
		return list, nil
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, fmt.Errorf("%w: Graph JSON: %v", holdfast.ErrInvalid, err)
	}
	if page.Value != nil {
		return page.Value, nil
	}
	return []json.RawMessage{b}, nil
}

type graphEmail struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type graphDateTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// time reads Graph's dateTimeTimeZone: a local time in an IANA or Windows
// zone name; unknown zones are taken as UTC.
func (d graphDateTime) time() time.Time {
	if d.DateTime == "" {
		return time.Time{}
	}
	loc := time.UTC
	if l, err := time.LoadLocation(d.TimeZone); err == nil && d.TimeZone != "" {
		loc = l
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func graphTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}

// graphEvent is the part of a Microsoft Graph event the store keeps.
type graphEvent struct {
	ID      string `json:"id"`
	ICalUID string `json:"iCalUId"`
	Subject string `json:"subject"`
	Body    struct {
		Content string `json:"content"`
	} `json:"body"`
	BodyPreview string        `json:"bodyPreview"`
	Start       graphDateTime `json:"start"`
	End         graphDateTime `json:"end"`
	IsAllDay    bool          `json:"isAllDay"`
	IsCancelled bool          `json:"isCancelled"`
	ShowAs      string        `json:"showAs"`
	Location    struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Organizer *struct {
		EmailAddress graphEmail `json:"emailAddress"`
	} `json:"organizer"`
	Attendees []struct {
		EmailAddress graphEmail `json:"emailAddress"`
		Status       struct {
			Response string `json:"response"`
		} `json:"status"`
	} `json:"attendees"`
	Recurrence *struct {
		Pattern struct {
			Type       string   `json:"type"`
			Interval   int      `json:"interval"`
			DaysOfWeek []string `json:"daysOfWeek"`
			DayOfMonth int      `json:"dayOfMonth"`
			Month      int      `json:"month"`
		} `json:"pattern"`
		Range struct {
			Type                string `json:"type"`
			EndDate             string `json:"endDate"`
			NumberOfOccurrences int    `json:"numberOfOccurrences"`
		} `json:"range"`
	} `json:"recurrence"`
	Created  string `json:"createdDateTime"`
	Modified string `json:"lastModifiedDateTime"`
}

// rrule renders a Graph recurrence as an RRULE value.
func (e graphEvent) rrule() string {
	r := e.Recurrence
	freq := map[string]string{"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY",
		"relativeMonthly": "MONTHLY", "absoluteYearly": "YEARLY", "relativeYearly": "YEARLY"}[r.Pattern.Type]
	if freq == "" {
		return ""
	}
	parts := []string{"FREQ=" + freq}
	if r.Pattern.Interval > 1 {
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", r.Pattern.Interval))
	}
	if len(r.Pattern.DaysOfWeek) > 0 {
		var days []string
		for _, d := range r.Pattern.DaysOfWeek {
			days = append(days, strings.ToUpper(d[:min(2, len(d))]))
		}
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
	}
	if r.Pattern.DayOfMonth > 0 {
		parts = append(parts, fmt.Sprintf("BYMONTHDAY=%d", r.Pattern.DayOfMonth))
	}
	if r.Pattern.Month > 0 {
		parts = append(parts, fmt.Sprintf("BYMONTH=%d", r.Pattern.Month))
	}
	switch r.Range.Type {
	case "endDate":
		if t, err := time.Parse(time.DateOnly, r.Range.EndDate); err == nil {
			parts = append(parts, "UNTIL="+t.Format("20060102"))
		}
	case "numbered":
		parts = append(parts, fmt.Sprintf("COUNT=%d", r.Range.NumberOfOccurrences))
	}
	return strings.Join(parts, ";")
}

// parseGraphEvents reads Microsoft Graph event JSON.
func parseGraphEvents(b []byte) ([]structured, error) {
	list, err := graphList(b)
	if err != nil {
		return nil, err
	}
	var out []structured
	for i, raw := range list {
		var g graphEvent
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, fmt.Errorf("%w: Graph event %d: %v", holdfast.ErrInvalid, i, err)
		}
		ev := storage.Event{UID: g.ICalUID, Summary: g.Subject, Description: g.Body.Content, Location: g.Location.DisplayName,
			Start: g.Start.time(), End: g.End.time(), AllDay: g.IsAllDay, TimeZone: g.Start.TimeZone,
			Created: graphTime(g.Created), Modified: graphTime(g.Modified), Original: string(raw), OriginalType: "application/json"}
		if ev.UID == "" {
			ev.UID = g.ID
		}
		if ev.UID == "" {
			return nil, fmt.Errorf("%w: Graph event %d has neither iCalUId nor id", holdfast.ErrInvalid, i)
		}
		if ev.Description == "" {
			ev.Description = g.BodyPreview
		}
		switch {
		case g.IsCancelled:
			ev.Status = "cancelled"
		case g.ShowAs == "tentative":
			ev.Status = "tentative"
		default:
			ev.Status = "confirmed"
		}
		if g.Organizer != nil {
			ev.Organizer = &storage.Person{Name: g.Organizer.EmailAddress.Name, Email: g.Organizer.EmailAddress.Address}
		}
		for _, a := range g.Attendees {
			ev.Attendees = append(ev.Attendees, storage.Person{Name: a.EmailAddress.Name, Email: a.EmailAddress.Address,
				Status: strings.ToLower(a.Status.Response)})
		}
		if g.Recurrence != nil {
			if r := g.rrule(); r != "" {
				ev.Recurrence = []string{r}
			}
		}
		js, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: ev.UID, created: ev.Created, modified: ev.Modified, json: js})
	}
	return out, nil
}

type graphAddress struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"countryOrRegion"`
}

func (a *graphAddress) address(label string) (storage.Address, bool) {
	if a == nil || *a == (graphAddress{}) {
		return storage.Address{}, false
	}
	return storage.Address{Label: label, Street: a.Street, City: a.City, Region: a.State, PostalCode: a.PostalCode, Country: a.Country}, true
}

// parseGraphContacts reads Microsoft Graph contact JSON.
func parseGraphContacts(b []byte) ([]structured, error) {
	list, err := graphList(b)
	if err != nil {
		return nil, err
	}
	var out []structured
	for i, raw := range list {
		var g struct {
			ID             string        `json:"id"`
			DisplayName    string        `json:"displayName"`
			GivenName      string        `json:"givenName"`
			MiddleName     string        `json:"middleName"`
			Surname        string        `json:"surname"`
			NickName       string        `json:"nickName"`
			EmailAddresses []graphEmail  `json:"emailAddresses"`
			BusinessPhones []string      `json:"businessPhones"`
			HomePhones     []string      `json:"homePhones"`
			MobilePhone    string        `json:"mobilePhone"`
			CompanyName    string        `json:"companyName"`
			Department     string        `json:"department"`
			JobTitle       string        `json:"jobTitle"`
			Birthday       string        `json:"birthday"`
			PersonalNotes  string        `json:"personalNotes"`
			HomeAddress    *graphAddress `json:"homeAddress"`
			BusinessAddr   *graphAddress `json:"businessAddress"`
			OtherAddress   *graphAddress `json:"otherAddress"`
			Created        string        `json:"createdDateTime"`
			Modified       string        `json:"lastModifiedDateTime"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, fmt.Errorf("%w: Graph contact %d: %v", holdfast.ErrInvalid, i, err)
		}
		if g.ID == "" {
			return nil, fmt.Errorf("%w: Graph contact %d has no id", holdfast.ErrInvalid, i)
		}
		c := storage.Contact{UID: g.ID, DisplayName: g.DisplayName, GivenName: g.GivenName, MiddleName: g.MiddleName,
			Surname: g.Surname, Nickname: g.NickName, Organization: g.CompanyName, Department: g.Department,
			JobTitle: g.JobTitle, Notes: g.PersonalNotes, Created: graphTime(g.Created), Modified: graphTime(g.Modified),
			Original: string(raw), OriginalType: "application/json"}
		if t := graphTime(g.Birthday); !t.IsZero() {
			c.Birthday = t.Format(time.DateOnly)
		}
		for _, e := range g.EmailAddresses {
			c.Emails = append(c.Emails, storage.Labeled{Value: e.Address})
		}
		for _, p := range g.BusinessPhones {
			c.Phones = append(c.Phones, storage.Labeled{Label: "work", Value: p})
		}
		for _, p := range g.HomePhones {
			c.Phones = append(c.Phones, storage.Labeled{Label: "home", Value: p})
		}
		if g.MobilePhone != "" {
			c.Phones = append(c.Phones, storage.Labeled{Label: "cell", Value: g.MobilePhone})
		}
		for _, a := range []struct {
			label string
			addr  *graphAddress
		}{{"home", g.HomeAddress}, {"work", g.BusinessAddr}, {"other", g.OtherAddress}} {
			if ad, ok := a.addr.address(a.label); ok {
				c.Addresses = append(c.Addresses, ad)
			}
		}
		js, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, structured{uid: c.UID, created: c.Created, modified: c.Modified, json: js})
	}
	return out, nil
}
