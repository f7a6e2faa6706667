package holdfast

import (
	"net/mail"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same on every host, with or without a zoneinfo database
	"unicode/utf8"
)

// Field length limits of names and descriptions.
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 500
)

// CheckName validates a required display name, recording a problem in v
// under field, and returns it trimmed.
func CheckName(v *ValidationError, field, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add(field, "is required")
	case n > MaxNameLength:
		v.Add(field, "must be at most %d characters long", MaxNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		v.Add(field, "must not contain control characters")
	}
	return name
}

// CheckDescription validates an optional description and returns it trimmed.
func CheckDescription(v *ValidationError, field, d string) string {
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > MaxDescriptionLength {
		v.Add(field, "must be at most %d characters long", MaxDescriptionLength)
	}
	return d
}

// CheckEmail validates a required plain address and returns it in lower case.
func CheckEmail(v *ValidationError, field, email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		v.Add(field, "is required")
		return email
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || len(email) > 254 {
		v.Add(field, "%q is not a plain email address like jane@example.com", email)
	}
	return email
}

// CheckCountry validates an optional ISO 3166-1 alpha-2 country code and
// returns it in upper case.
func CheckCountry(v *ValidationError, field, c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "" {
		return c
	}
	if len(c) != 2 || !strings.Contains(isoCountries, " "+c+" ") {
		v.Add(field, "%q is not an ISO 3166-1 alpha-2 country code like US or DE", c)
	}
	return c
}

// CheckTimeZone validates an optional IANA time zone name.
func CheckTimeZone(v *ValidationError, field, tz string) string {
	tz = strings.TrimSpace(tz)
	if tz == "" {
		return tz
	}
	// LoadLocation also accepts "Local" (the server's zone) and file
	// paths are refused by it; neither is a time zone of a person.
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		v.Add(field, "%q is not an IANA time zone like Europe/Berlin", tz)
	}
	return tz
}

// isoCountries holds the officially assigned ISO 3166-1 alpha-2 codes,
// space separated with a space at both ends.
const isoCountries = " AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ" +
	" CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR" +
	" GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP" +
	" KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT" +
	" MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW" +
	" SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG" +
	" UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "
