package export

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast/storage"
)

// VCF renders one contact as a vCard 4.0 (RFC 6350): VERSION right after
// BEGIN, FN always present, UID, UTF-8, CRLF and lines folded at 75
// octets. The card is built as a go-vcard Card; it is written here rather
// than by go-vcard's encoder, which neither folds, escapes ; in values nor
// quotes parameters, and writes parameters in random order. Text values
// escape \ , ; and newlines, structured values (N, ADR, ORG) escape each
// component, and parameter values lose quotes and control characters, so
// nothing in a contact can start a property of its own. The output is
// deterministic.
func VCF(c storage.Contact) ([]byte, error) {
	card, err := buildCard(c, structuredField)
	if err != nil {
		return nil, err
	}
	return encodeCard(card), nil
}

// Card returns the contact as a go-vcard Card whose values go-vcard's own
// encoder writes correctly, for the CardDAV view (which encodes cards with
// it): that encoder escapes no ; so a ; inside a component of N, ADR or
// ORG becomes a comma there. The .vcf files of the WebDAV tree keep it.
func Card(c storage.Contact) (vcard.Card, error) {
	card, err := buildCard(c, func(components ...string) *vcard.Field {
		parts := make([]string, len(components))
		for i, p := range components {
			parts[i] = strings.ReplaceAll(plain(p), ";", ",")
		}
		return &vcard.Field{Value: strings.Join(parts, ";")}
	})
	if err != nil {
		return nil, err
	}
	for _, fields := range card {
		for _, f := range fields {
			if f.Params[structuredMark] == nil {
				f.Value = plain(f.Value)
			}
			delete(f.Params, structuredMark)
		}
	}
	return card, nil
}

// plain is a value for go-vcard's encoder: no control characters but
// newlines (it escapes those), CR LF as LF.
func plain(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(stripControls(s), "\r\n", "\n"), "\r", "\n")
}

// buildCard is the card of the contact, structured values made by
// structured.
func buildCard(c storage.Contact, structuredField func(components ...string) *vcard.Field) (vcard.Card, error) {
	uid := clean(c.UID)
	if uid == "" {
		return nil, fmt.Errorf("export: contact without a UID")
	}
	card := make(vcard.Card)
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldUID, uid)
	card.SetValue(vcard.FieldFormattedName, formattedName(c))
	if c.Surname != "" || c.GivenName != "" || c.MiddleName != "" {
		card.Add(vcard.FieldName, structuredField(c.Surname, c.GivenName, c.MiddleName, "", ""))
	}
	add := func(key, value string, params vcard.Params) {
		if strings.TrimSpace(value) != "" {
			card.Add(key, &vcard.Field{Value: value, Params: params})
		}
	}
	add(vcard.FieldNickname, c.Nickname, nil)
	for _, e := range c.Emails {
		add(vcard.FieldEmail, clean(e.Value), typeParam(e.Label))
	}
	for _, p := range c.Phones {
		add(vcard.FieldTelephone, clean(p.Value), typeParam(p.Label))
	}
	for _, a := range c.Addresses {
		f := structuredField("", "", a.Street, a.City, a.Region, a.PostalCode, a.Country)
		if t := typeParam(a.Label); t != nil {
			if f.Params == nil {
				f.Params = vcard.Params{}
			}
			f.Params[vcard.ParamType] = t[vcard.ParamType]
		}
		card.Add(vcard.FieldAddress, f)
	}
	if c.Organization != "" || c.Department != "" {
		card.Add(vcard.FieldOrganization, structuredField(c.Organization, c.Department))
	}
	add(vcard.FieldTitle, c.JobTitle, nil)
	if b := clean(c.Birthday); b != "" && strings.Trim(b, "0123456789-") == "" {
		card.SetValue(vcard.FieldBirthday, b)
	}
	add(vcard.FieldNote, c.Notes, nil)
	if !c.Modified.IsZero() {
		card.SetValue(vcard.FieldRevision, c.Modified.UTC().Format("20060102T150405Z"))
	}
	return card, nil
}

// formattedName is FN: the display name, else the name parts, else the
// first email, else "Unnamed contact" (FN is required).
func formattedName(c storage.Contact) string {
	for _, s := range []string{c.DisplayName, strings.Join(nonEmpty(c.GivenName, c.MiddleName, c.Surname), " ")} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	if len(c.Emails) > 0 && clean(c.Emails[0].Value) != "" {
		return clean(c.Emails[0].Value)
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

func typeParam(label string) vcard.Params {
	l := strings.ToLower(paramSafe(label))
	l = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, l)
	if l == "" {
		return nil
	}
	return vcard.Params{vcard.ParamType: {l}}
}

// cardOrder is the order properties are written in; others follow by name.
var cardOrder = []string{vcard.FieldVersion, vcard.FieldUID, vcard.FieldFormattedName, vcard.FieldName}

// structuredMark is a parameter, never written, that marks a field whose
// value is already ;-separated escaped components (N, ADR, ORG).
const structuredMark = "x-holdfast-structured"

// structuredField is a structured value of the components, each escaped.
func structuredField(components ...string) *vcard.Field {
	parts := make([]string, len(components))
	for i, c := range components {
		parts[i] = text(c)
	}
	return &vcard.Field{Value: strings.Join(parts, ";"), Params: vcard.Params{structuredMark: {"1"}}}
}

// encodeCard writes the card: BEGIN, VERSION, the rest, END, folded.
func encodeCard(card vcard.Card) []byte {
	keys := make([]string, 0, len(card))
	for k := range card {
		keys = append(keys, k)
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
	for _, k := range keys {
		for _, f := range card[k] {
			buf.WriteString(k)
			pk := make([]string, 0, len(f.Params))
			for p := range f.Params {
				if p != structuredMark {
					pk = append(pk, p)
				}
			}
			slices.Sort(pk)
			for _, p := range pk {
				vals := make([]string, 0, len(f.Params[p]))
				for _, v := range f.Params[p] {
					vals = append(vals, paramSafe(v))
				}
				v := strings.Join(vals, ",")
				if strings.ContainsAny(v, ";:,") {
					v = `"` + v + `"`
				}
				buf.WriteString(";" + strings.ToUpper(p) + "=" + v)
			}
			buf.WriteString(":")
			switch {
			case f.Params[structuredMark] != nil:
				buf.WriteString(f.Value) // components already escaped
			default:
				buf.WriteString(text(f.Value))
			}
			buf.WriteString("\r\n")
		}
	}
	buf.WriteString("END:VCARD\r\n")
	return fold(buf.Bytes())
}

// textEscaper escapes a TEXT value (RFC 6350 3.4).
var textEscaper = strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

func text(s string) string { return textEscaper.Replace(stripControls(s)) }

// stripControls drops control characters except newlines, which text
// escapes.
func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\n' && r != '\r') || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
