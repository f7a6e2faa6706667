package pim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// OriginalVCF is the OriginalType of contacts read from vCard files: their
// Card is the original.
const OriginalVCF = "text/vcard"

var cardBegin = regexp.MustCompile(`(?im)^BEGIN:VCARD\r?$`)

// ContactsFromVCF reads the vCards of a file (4.0, 3.0 or 2.1) with
// go-vcard, each as a storage.Contact whose Card keeps every property,
// group and parameter. vCard 2.1's bare parameters (TEL;WORK:) are read
// as TYPE values, which go-vcard otherwise misreads. A card without a UID
// gets one derived from its content, one without FN gets FN (required) from
// its name, organization or email, a 3.0 card without N an empty N, and a
// property named BEGIN or END (2.1's nested AGENT) is renamed
// X-HOLDFAST-BEGIN or X-HOLDFAST-END. Bad data is holdfast.ErrInvalid.
func ContactsFromVCF(b []byte) ([]storage.Contact, error) {
	b = utf8Text(b)
	want := len(cardBegin.FindAllIndex(b, -1))
	if want == 0 {
		return nil, fmt.Errorf("%w: no BEGIN:VCARD in the file", holdfast.ErrInvalid)
	}
	dec := vcard.NewDecoder(bytes.NewReader(bareParams(b)))
	var out []storage.Contact
	for {
		card, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: vCard %d: %v", holdfast.ErrInvalid, len(out)+1, err)
		}
		c, err := contactOf(card)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) < want {
		return nil, fmt.Errorf("%w: vCard %d is not readable", holdfast.ErrInvalid, len(out)+1)
	}
	return out, nil
}

// contactOf completes card (see ContactsFromVCF) and summarizes it.
func contactOf(card vcard.Card) (storage.Contact, error) {
	uid := card.Value(vcard.FieldUID)
	if uid == "" {
		uid = contentIDBytes(EncodeCard(card))
	}
	complete(card, uid)
	c := summarizeCard(card)
	c.UID, c.Card, c.OriginalType = uid, string(EncodeCard(card)), OriginalVCF
	return c, nil
}

// complete adds what a card must have, renames what would end it, and
// makes every name one EncodeCard writes as it is: a property name that is
// not a token becomes X-HOLDFAST-PROPERTY with the name in an X-NAME
// parameter, groups and parameter names lose what is not a token, and a
// second VERSION becomes X-HOLDFAST-VERSION.
func complete(card vcard.Card, uid string) {
	for k, fields := range card {
		for _, f := range fields {
			f.Group = nameSafe(f.Group)
			for p, vs := range f.Params {
				if np := nameSafe(p); np != p {
					delete(f.Params, p)
					if np != "" {
						f.Params[np] = append(f.Params[np], vs...)
					}
				}
			}
		}
		if nk := nameSafe(k); nk != k || nk == "" {
			delete(card, k)
			for _, f := range fields {
				if f.Params == nil {
					f.Params = vcard.Params{}
				}
				f.Params["X-NAME"] = append(f.Params["X-NAME"], paramText(k))
			}
			card["X-HOLDFAST-PROPERTY"] = append(card["X-HOLDFAST-PROPERTY"], fields...)
		}
	}
	if vs := card[vcard.FieldVersion]; len(vs) > 1 {
		card[vcard.FieldVersion] = vs[:1]
		card["X-HOLDFAST-VERSION"] = append(card["X-HOLDFAST-VERSION"], vs[1:]...)
	}
	for _, k := range []string{"BEGIN", "END"} {
		if fs, ok := card[k]; ok {
			card["X-HOLDFAST-"+k] = append(card["X-HOLDFAST-"+k], fs...)
			delete(card, k)
		}
	}
	if card.Value(vcard.FieldVersion) == "" {
		card.SetValue(vcard.FieldVersion, "4.0")
	}
	if card.Get(vcard.FieldUID) == nil {
		card.SetValue(vcard.FieldUID, uid)
	}
	if strings.TrimSpace(card.Value(vcard.FieldFormattedName)) == "" {
		card.SetValue(vcard.FieldFormattedName, formattedName(card))
	}
	if card.Value(vcard.FieldVersion) == "3.0" && card.Get(vcard.FieldName) == nil {
		card.SetValue(vcard.FieldName, ";;;;")
	}
}

// formattedName is an FN for a card without one: its name, organization
// or first email, else "Unnamed contact".
func formattedName(card vcard.Card) string {
	if n := card.Name(); n != nil {
		if s := strings.Join(nonEmpty(n.HonorificPrefix, n.GivenName, n.AdditionalName, n.FamilyName, n.HonorificSuffix), " "); s != "" {
			return s
		}
	}
	for _, k := range []string{vcard.FieldOrganization, vcard.FieldEmail, vcard.FieldNickname} {
		if v := strings.TrimSpace(strings.ReplaceAll(card.Value(k), `\;`, ";")); strings.Trim(v, "; ") != "" {
			return v
		}
	}
	return "Unnamed contact"
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// summarizeCard fills a Contact's summary fields from the card.
func summarizeCard(card vcard.Card) storage.Contact {
	c := storage.Contact{DisplayName: card.Value(vcard.FieldFormattedName), Nickname: card.Value(vcard.FieldNickname),
		JobTitle: card.Value(vcard.FieldTitle), Notes: card.Value(vcard.FieldNote), Birthday: card.Value(vcard.FieldBirthday)}
	if n := card.Name(); n != nil {
		c.Surname, c.GivenName, c.MiddleName = n.FamilyName, n.GivenName, n.AdditionalName
	}
	label := func(f *vcard.Field) string {
		if t := f.Params.Types(); len(t) > 0 {
			return strings.ToLower(t[0])
		}
		return ""
	}
	for _, f := range card[vcard.FieldEmail] {
		c.Emails = append(c.Emails, storage.Labeled{Label: label(f), Value: f.Value})
	}
	for _, f := range card[vcard.FieldTelephone] {
		c.Phones = append(c.Phones, storage.Labeled{Label: label(f), Value: strings.TrimPrefix(f.Value, "tel:")})
	}
	for _, a := range card.Addresses() {
		c.Addresses = append(c.Addresses, storage.Address{Label: label(a.Field), Street: a.StreetAddress, City: a.Locality,
			Region: a.Region, PostalCode: a.PostalCode, Country: a.Country})
	}
	if org := card.Value(vcard.FieldOrganization); org != "" {
		o := append(strings.SplitN(org, ";", 2), "")
		c.Organization, c.Department = o[0], o[1]
	}
	if t, err := card.Revision(); err == nil {
		c.Modified = t.UTC()
	}
	return c
}

// CardOf parses a stored card (storage.Contact.Card) with go-vcard.
func CardOf(text string) (vcard.Card, error) {
	card, err := vcard.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		return nil, fmt.Errorf("%w: stored card: %v", storage.ErrDamaged, err)
	}
	return card, nil
}

// RenderCard writes a stored card as a .vcf file (see EncodeCard).
func RenderCard(text string) ([]byte, error) {
	card, err := CardOf(text)
	if err != nil {
		return nil, err
	}
	complete(card, card.Value(vcard.FieldUID))
	return EncodeCard(card), nil
}

// cardOrder is the order properties are written in; others follow by name.
var cardOrder = []string{vcard.FieldVersion, vcard.FieldUID, vcard.FieldFormattedName, vcard.FieldName}

// rawComma are the properties whose commas are written as they are: those
// whose values (or components) are comma lists, where a comma separates,
// and those whose values are usually URIs, which are not escaped.
var rawComma = map[string]bool{vcard.FieldName: true, vcard.FieldAddress: true, vcard.FieldCategories: true,
	vcard.FieldNickname: true, vcard.FieldPhoto: true, vcard.FieldLogo: true, vcard.FieldSound: true, vcard.FieldURL: true,
	vcard.FieldKey: true, vcard.FieldGeolocation: true, vcard.FieldIMPP: true, vcard.FieldMember: true, vcard.FieldSource: true,
	vcard.FieldFreeOrBusyURL: true, vcard.FieldCalendarURI: true, vcard.FieldCalendarAddressURI: true, vcard.FieldUID: true}

// EncodeCard writes a go-vcard Card: BEGIN, VERSION (the first), then the
// other properties in a fixed order (UID, FN, N, the rest by name; each
// property's fields as go-vcard holds them), END; groups kept, parameters
// sorted and quoted when they hold ; : or ,, values escaped so go-vcard
// reads back the same card, CRLF, folded at 75 octets. go-vcard's own
// encoder neither folds nor quotes parameters and writes them in random
// order. Nothing in a value or parameter can start a line of its own.
func EncodeCard(card vcard.Card) []byte {
	keys := make([]string, 0, len(card))
	for k := range card {
		if k != vcard.FieldVersion {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(cardOrder, a), slices.Index(cardOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	var buf bytes.Buffer
	buf.WriteString("BEGIN:VCARD\r\n")
	version := card[vcard.FieldVersion]
	if len(version) > 0 {
		writeField(&buf, vcard.FieldVersion, version[0])
	}
	for _, k := range keys {
		for _, f := range card[k] {
			writeField(&buf, k, f)
		}
	}
	for _, f := range version[min(1, len(version)):] {
		writeField(&buf, "X-HOLDFAST-VERSION", f)
	}
	buf.WriteString("END:VCARD\r\n")
	return Fold(buf.Bytes())
}

func writeField(buf *bytes.Buffer, key string, f *vcard.Field) {
	if g := nameSafe(f.Group); g != "" {
		buf.WriteString(g + ".")
	}
	buf.WriteString(nameSafe(key))
	for _, p := range sortedKeys(f.Params) {
		vals := make([]string, 0, len(f.Params[p]))
		for _, v := range f.Params[p] {
			vals = append(vals, paramValue(v))
		}
		v := strings.Join(vals, ",")
		if strings.ContainsAny(v, ";:") {
			v = `"` + v + `"`
		}
		buf.WriteString(";" + nameSafe(p) + "=" + v)
	}
	buf.WriteString(":")
	buf.WriteString(cardValue(f.Value, rawComma[key]))
	buf.WriteString("\r\n")
}

// nameSafe keeps the characters of a property, group or parameter name.
func nameSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}

// paramValue is a parameter value without the characters no quoted value
// may hold (double quote, control characters) nor the backslash, which
// go-vcard would read as an escape; a newline is written \n, which
// go-vcard reads back as one.
func paramValue(s string) string {
	return strings.ReplaceAll(paramText(s), "\n", `\n`)
}

// paramText is s without double quotes, backslashes and control
// characters other than newline.
func paramText(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\n') || r == 0x7f || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// cardValue escapes a value as go-vcard holds it (\\, \n and \, undone,
// \; kept): backslash, newline and, unless raw, comma.
func cardValue(v string, raw bool) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && v[i+1] == ';':
			b.WriteString(`\;`)
			i++
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
		case c == ',' && !raw:
			b.WriteString(`\,`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DAVCard is a stored card as go-webdav's CardDAV view writes it (see
// ForDAV).
func DAVCard(text string) (vcard.Card, error) {
	card, err := CardOf(text)
	if err != nil {
		return nil, err
	}
	complete(card, card.Value(vcard.FieldUID))
	return ForDAV(card), nil
}

// ForDAV makes card safe for go-vcard's encoder, which go-webdav's CardDAV
// view writes with and which quotes no parameter and escapes a comma in
// one as \, (which readers do not undo): a parameter value loses what
// paramValue drops, one holding a comma becomes the values between its
// commas (what go-vcard reads it as anyway), and one holding ; or : is
// put in quotes. Properties whose name is not a token are left out.
func ForDAV(card vcard.Card) vcard.Card {
	for k, fields := range card {
		for _, f := range fields {
			for p, vs := range f.Params {
				var out []string
				for _, v := range vs {
					for _, part := range strings.Split(paramText(v), ",") {
						if strings.ContainsAny(part, ";:") {
							part = `"` + part + `"`
						}
						out = append(out, part)
					}
				}
				f.Params[p] = out
			}
			f.Value = strings.ReplaceAll(f.Value, "\r", "")
		}
		if nameSafe(k) != k {
			delete(card, k)
		}
	}
	return card
}

// Component joins the components of a structured value (N, ADR, ORG) as
// go-vcard holds them: a ; inside a component escaped.
func Component(parts ...string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.ReplaceAll(p, ";", `\;`)
	}
	return strings.Join(out, ";")
}

// bareParams reads vCard 2.1's syntax, which go-vcard does not: it
// rewrites parameters without a name (TEL;WORK;VOICE:) as TYPE values
// (TEL;TYPE=WORK;TYPE=VOICE:), and joins the lines of a QUOTED-PRINTABLE
// value that soft line breaks (a final "=", RFC 2045 6.7) split, which
// go-vcard would otherwise drop as lines without a name. The value stays
// quoted-printable, with its ENCODING parameter.
func bareParams(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := make([][]byte, 0, len(lines))
	qp := false // the previous line is a quoted-printable value's soft break
	for _, l := range lines {
		switch {
		case qp:
			last := out[len(out)-1]
			out[len(out)-1] = append(bytes.TrimSuffix(bytes.TrimRight(last, "\r\n"), []byte("=")), l...)
		case len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
			out = append(out, l)
		default:
			l = bareParamsLine(l)
			out = append(out, l)
		}
		cur := out[len(out)-1]
		head, _, _ := bytes.Cut(cur, []byte(":"))
		qp = bytes.Contains(bytes.ToUpper(head), []byte("QUOTED-PRINTABLE")) && bytes.HasSuffix(bytes.TrimRight(cur, "\r\n"), []byte("="))
	}
	return bytes.Join(out, nil)
}

func bareParamsLine(l []byte) []byte {
	colon := bytes.IndexByte(l, ':')
	semi := bytes.IndexByte(l, ';')
	if semi < 0 || colon < 0 || semi > colon || bytes.IndexByte(l[:colon], '"') >= 0 {
		return l
	}
	params := bytes.Split(l[semi+1:colon], []byte(";"))
	var out bytes.Buffer
	out.Write(l[:semi])
	for _, p := range params {
		out.WriteByte(';')
		if len(p) > 0 && bytes.IndexByte(p, '=') < 0 {
			out.WriteString("TYPE=")
		}
		out.Write(p)
	}
	out.Write(l[colon:])
	return out.Bytes()
}
