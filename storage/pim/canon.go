package pim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

// Canonical lines compare calendars and cards as RFC 5545 and RFC 6350
// do, to check an export against what was backed up. Only what the RFCs
// call equal is normalized: content lines unfolded (the parsers do it),
// property and parameter names in upper case (the parsers do it), the
// order of properties and of sibling components (neither RFC gives it a
// meaning), and the case and order of TYPE values in vCards (RFC 6350
// 5.6). Values and every other parameter are compared as written.

// CalendarLines returns each VCALENDAR of b as canonical lines.
func CalendarLines(b []byte) ([][]string, error) {
	cals, err := decodeCalendars(b)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(cals))
	for i, c := range cals {
		out[i] = canonComp(c.Component)
	}
	return out, nil
}

// ObjectLines splits iCalendar data into the calendar objects RFC 4791
// 4.1 asks for (per UID: the calendar's properties, the components with
// the UID, the VTIMEZONEs they use) and returns each as canonical lines,
// by UID: what an export of the data must give back.
func ObjectLines(b []byte) (map[string][]string, error) {
	cals, err := decodeCalendars(b)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, cal := range cals {
		byUID := map[string]*ical.Component{}
		var order []string
		for _, c := range cal.Children {
			if c.Name == ical.CompTimezone {
				continue
			}
			p := c.Props.Get(ical.PropUID)
			if p == nil {
				return nil, fmt.Errorf("pim: a %s without UID", c.Name)
			}
			uid := unescape(p.Value)
			o := byUID[uid]
			if o == nil {
				o = &ical.Component{Name: ical.CompCalendar, Props: cal.Props}
				byUID[uid] = o
				order = append(order, uid)
			}
			o.Children = append(o.Children, c)
		}
		for _, uid := range order {
			o := byUID[uid]
			used := map[string]bool{}
			for _, c := range o.Children {
				for _, id := range tzidsOf(c) {
					used[id] = true
				}
			}
			for _, c := range cal.Children {
				if p := c.Props.Get(ical.PropTimezoneID); c.Name == ical.CompTimezone && p != nil && used[p.Value] {
					o.Children = append(o.Children, c)
				}
			}
			out[uid] = canonComp(o)
		}
	}
	return out, nil
}

func decodeCalendars(b []byte) (cals []*ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cals, err = nil, fmt.Errorf("pim: malformed iCalendar line")
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(b))
	for {
		cal, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return cals, nil
		}
		if err != nil {
			return nil, err
		}
		cals = append(cals, cal)
	}
}

// CardLines returns each vCard of b as canonical lines, by UID (vCard
// 2.1's bare parameters read as TYPE values).
func CardLines(b []byte) (map[string][]string, error) {
	dec := vcard.NewDecoder(bytes.NewReader(bareParams(b)))
	out := map[string][]string{}
	for {
		c, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[c.Value(vcard.FieldUID)] = canonCard(c)
	}
}

// canonComp is c as sorted lines, children included.
func canonComp(c *ical.Component) []string {
	var out []string
	for name, props := range c.Props {
		for _, p := range props {
			out = append(out, c.Name+"|"+name+paramsString(p.Params)+":"+p.Value)
		}
	}
	var kids []string
	for _, ch := range c.Children {
		kids = append(kids, strings.Join(canonComp(ch), "\n"))
	}
	slices.Sort(kids)
	for _, k := range kids {
		out = append(out, c.Name+">"+strings.ReplaceAll(k, "\n", "\n"+c.Name+">"))
	}
	slices.Sort(out)
	return out
}

func paramsString[M ~map[string][]string](p M) string {
	var b strings.Builder
	for _, k := range sortedKeys(p) {
		fmt.Fprintf(&b, ";%s=%q", k, p[k])
	}
	return b.String()
}

// canonCard is a card as sorted lines.
func canonCard(c vcard.Card) []string {
	var out []string
	for k, fields := range c {
		for _, f := range fields {
			p := vcard.Params{}
			for name, vs := range f.Params {
				vs = slices.Clone(vs)
				if name == vcard.ParamType {
					for i := range vs {
						vs[i] = strings.ToLower(vs[i])
					}
					slices.Sort(vs)
				}
				p[name] = vs
			}
			out = append(out, f.Group+"."+k+paramsString(p)+":"+f.Value)
		}
	}
	slices.Sort(out)
	return out
}
