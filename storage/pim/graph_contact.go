package pim

import (
	"fmt"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

type graphAddress struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"countryOrRegion"`
}

// graphContact is the part of a Microsoft Graph contact with a vCard
// property of its own.
type graphContact struct {
	ID             string        `json:"id"`
	DisplayName    string        `json:"displayName"`
	GivenName      string        `json:"givenName"`
	MiddleName     string        `json:"middleName"`
	Surname        string        `json:"surname"`
	Title          string        `json:"title"`
	Generation     string        `json:"generation"`
	NickName       string        `json:"nickName"`
	EmailAddresses []graphEmail  `json:"emailAddresses"`
	IMAddresses    []string      `json:"imAddresses"`
	BusinessPhones []string      `json:"businessPhones"`
	HomePhones     []string      `json:"homePhones"`
	MobilePhone    string        `json:"mobilePhone"`
	CompanyName    string        `json:"companyName"`
	Department     string        `json:"department"`
	JobTitle       string        `json:"jobTitle"`
	Profession     string        `json:"profession"`
	Manager        string        `json:"manager"`
	AssistantName  string        `json:"assistantName"`
	SpouseName     string        `json:"spouseName"`
	Children       []string      `json:"children"`
	Birthday       string        `json:"birthday"`
	PersonalNotes  string        `json:"personalNotes"`
	HomePage       string        `json:"businessHomePage"`
	Categories     []string      `json:"categories"`
	HomeAddress    *graphAddress `json:"homeAddress"`
	BusinessAddr   *graphAddress `json:"businessAddress"`
	OtherAddress   *graphAddress `json:"otherAddress"`
	Modified       string        `json:"lastModifiedDateTime"`
}

// ContactsFromGraph reads Microsoft Graph contact JSON (one contact, an
// array, or a collection page) as vCard 4.0 cards: id is the UID, the
// names N and FN (title and generation the honorific prefix and suffix),
// emails EMAIL (their names a CN parameter), phones TEL typed work, home
// or cell, addresses ADR typed home, work or other, companyName and
// department ORG, jobTitle TITLE, profession ROLE, spouseName and children
// RELATED, manager and assistantName X-MANAGER and X-ASSISTANT, birthday
// BDAY, personalNotes NOTE, businessHomePage URL, categories CATEGORIES,
// imAddresses IMPP, lastModifiedDateTime REV; every other field is kept as
// X-HOLDFAST-GRAPH;X-FIELD=<name>:<JSON>.
func ContactsFromGraph(b []byte) ([]storage.Contact, error) {
	list, err := graphList(b)
	if err != nil {
		return nil, err
	}
	var out []storage.Contact
	for i, raw := range list {
		var g graphContact
		f, err := decodeGraph(raw, &g, "contact", i)
		if err != nil {
			return nil, err
		}
		if g.ID == "" {
			return nil, fmt.Errorf("%w: Graph contact %d has no id", holdfast.ErrInvalid, i)
		}
		card := graphCard(g, f)
		c, err := contactOf(card)
		if err != nil {
			return nil, err
		}
		c.Original, c.OriginalType = string(raw), OriginalGraph
		out = append(out, c)
	}
	return out, nil
}

func graphCard(g graphContact, f fields) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldUID, g.ID)
	add := func(key, value string, params vcard.Params, names ...string) {
		if value != "" {
			card.Add(key, &vcard.Field{Value: value, Params: params})
		}
		f.done(names...)
	}
	typed := func(t ...string) vcard.Params { return vcard.Params{vcard.ParamType: t} }
	add(vcard.FieldFormattedName, g.DisplayName, nil, "displayName")
	if g.Surname+g.GivenName+g.MiddleName+g.Title+g.Generation != "" {
		add(vcard.FieldName, Component(g.Surname, g.GivenName, g.MiddleName, g.Title, g.Generation), nil)
	}
	f.done("id", "surname", "givenName", "middleName", "title", "generation")
	add(vcard.FieldNickname, g.NickName, nil, "nickName")
	for _, e := range g.EmailAddresses {
		p := vcard.Params{}
		if e.Name != "" && e.Name != e.Address {
			p["CN"] = []string{e.Name}
		}
		add(vcard.FieldEmail, e.Address, p)
	}
	f.done("emailAddresses")
	for _, im := range g.IMAddresses {
		add(vcard.FieldIMPP, im, nil)
	}
	f.done("imAddresses")
	for _, p := range g.BusinessPhones {
		add(vcard.FieldTelephone, p, typed("work", "voice"))
	}
	for _, p := range g.HomePhones {
		add(vcard.FieldTelephone, p, typed("home", "voice"))
	}
	add(vcard.FieldTelephone, g.MobilePhone, typed("cell"), "businessPhones", "homePhones", "mobilePhone")
	for _, a := range []struct {
		key, label string
		addr       *graphAddress
	}{{"homeAddress", "home", g.HomeAddress}, {"businessAddress", "work", g.BusinessAddr}, {"otherAddress", "other", g.OtherAddress}} {
		if a.addr != nil && *a.addr != (graphAddress{}) {
			add(vcard.FieldAddress, Component("", "", a.addr.Street, a.addr.City, a.addr.State, a.addr.PostalCode, a.addr.Country), typed(a.label), a.key)
		}
	}
	if g.CompanyName+g.Department != "" {
		add(vcard.FieldOrganization, Component(g.CompanyName, g.Department), nil)
	}
	f.done("companyName", "department")
	add(vcard.FieldTitle, g.JobTitle, nil, "jobTitle")
	add(vcard.FieldRole, g.Profession, nil, "profession")
	add("X-MANAGER", g.Manager, nil, "manager")
	add("X-ASSISTANT", g.AssistantName, nil, "assistantName")
	add(vcard.FieldRelated, g.SpouseName, vcard.Params{vcard.ParamType: {"spouse"}, vcard.ParamValue: {"text"}}, "spouseName")
	for _, c := range g.Children {
		add(vcard.FieldRelated, c, vcard.Params{vcard.ParamType: {"child"}, vcard.ParamValue: {"text"}})
	}
	f.done("children")
	if t := graphTime(g.Birthday); !t.IsZero() && t.Year() > 1 {
		add(vcard.FieldBirthday, t.Format("20060102"), nil, "birthday")
	}
	add(vcard.FieldNote, g.PersonalNotes, nil, "personalNotes")
	add(vcard.FieldURL, g.HomePage, typed("work"), "businessHomePage")
	if len(g.Categories) > 0 {
		add(vcard.FieldCategories, strings.Join(g.Categories, ","), nil, "categories")
	}
	if t := graphTime(g.Modified); !t.IsZero() && t.Year() > 1 {
		add(vcard.FieldRevision, t.Format("20060102T150405Z"), nil, "lastModifiedDateTime")
	}
	f.rest(func(name, value string) {
		card.Add(graphField, &vcard.Field{Value: value, Params: vcard.Params{"X-FIELD": {name}}})
	})
	return card
}
