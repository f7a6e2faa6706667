package export

import (
	"fmt"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

// VCF renders a contact stored without its card (items written before
// storage.Contact.Card existed) as a vCard 4.0 (RFC 6350): VERSION right
// after BEGIN, FN always present, UID, UTF-8, CRLF and lines folded at 75
// octets, written by pim.EncodeCard. Control characters are dropped, so
// nothing in a contact can start a property of its own. The output is
// deterministic. A contact with a Card is rendered by pim.RenderCard.
func VCF(c storage.Contact) ([]byte, error) {
	card, err := buildCard(c)
	if err != nil {
		return nil, err
	}
	return pim.EncodeCard(card), nil
}

// Card returns the contact as a go-vcard Card for the CardDAV view, whose
// encoder is go-vcard's (see pim.ForDAV): the stored card when there is
// one, else one built from the fields.
func Card(c storage.Contact) (vcard.Card, error) {
	if c.Card != "" {
		return pim.DAVCard(c.Card)
	}
	card, err := buildCard(c)
	if err != nil {
		return nil, err
	}
	return pim.ForDAV(card), nil
}

// buildCard is the card of a contact's fields.
func buildCard(c storage.Contact) (vcard.Card, error) {
	uid := clean(c.UID)
	if uid == "" {
		return nil, fmt.Errorf("export: contact without a UID")
	}
	card := make(vcard.Card)
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldUID, uid)
	card.SetValue(vcard.FieldFormattedName, plain(formattedName(c)))
	if c.Surname != "" || c.GivenName != "" || c.MiddleName != "" {
		card.SetValue(vcard.FieldName, pim.Component(plain(c.Surname), plain(c.GivenName), plain(c.MiddleName), "", ""))
	}
	add := func(key, value string, params vcard.Params) {
		if value = plain(value); strings.TrimSpace(value) != "" {
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
		card.Add(vcard.FieldAddress, &vcard.Field{Value: pim.Component("", "", plain(a.Street), plain(a.City), plain(a.Region),
			plain(a.PostalCode), plain(a.Country)), Params: typeParam(a.Label)})
	}
	if c.Organization != "" || c.Department != "" {
		card.SetValue(vcard.FieldOrganization, pim.Component(plain(c.Organization), plain(c.Department)))
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

// plain is a value as go-vcard holds it: no control characters but
// newlines, CR LF as LF, and no backslash before a semicolon (which
// go-vcard would take for an escaped one).
func plain(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(stripControls(s), "\r\n", "\n"), "\r", "\n")
	return strings.ReplaceAll(s, `\;`, `\ ;`)
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
	l := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, strings.ToLower(label))
	if l == "" {
		return nil
	}
	return vcard.Params{vcard.ParamType: {l}}
}

// stripControls drops control characters except newlines, which the
// writers escape.
func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\n' && r != '\r') || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
