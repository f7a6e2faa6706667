package scan

// Confidence is how sure the scanner is that a match is the type it names,
// in the three tiers Microsoft Purview uses for sensitive information types.
type Confidence int

// The tiers.
const (
	Low    Confidence = 65
	Medium Confidence = 75
	High   Confidence = 85
)

// Valid reports whether c is one of the three tiers.
func (c Confidence) Valid() bool { return c == Low || c == Medium || c == High }

// DefaultWindow is how far (in bytes, either side) a keyword may be from a
// match to count as evidence, Purview's 300 characters.
const DefaultWindow = 300

// Type is a sensitive information type: a predefined detector (Pattern
// empty) or a custom one an administrator defines (Pattern set).
type Type struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Predefined  bool     `json:"predefined"`
	Keywords    []string `json:"keywords"`
	Window      int      `json:"window"`
	// Custom types only: an RE2 regular expression, a check on the value
	// (ValidatorNone, ValidatorLuhn, ValidatorMod97), and the confidence of a
	// match without and with a keyword nearby (Alone 0: only with a keyword).
	Pattern     string     `json:"pattern,omitempty"`
	Validator   string     `json:"validator,omitempty"`
	Alone       Confidence `json:"alone,omitempty"`
	WithKeyword Confidence `json:"with_keyword,omitempty"`
}

// The validators a custom type may name.
const (
	ValidatorNone  = "none"
	ValidatorLuhn  = "luhn"
	ValidatorMod97 = "mod97"
)

// Ids of the predefined types.
const (
	CreditCard    = "credit_card"
	USSSN         = "us_ssn"
	IBAN          = "iban"
	Email         = "email"
	Phone         = "phone"
	USPassport    = "us_passport"
	UKPassport    = "uk_passport"
	IndiaPassport = "india_passport"
	CanadaSIN     = "ca_sin"
	IndiaAadhaar  = "in_aadhaar"
	UKNINO        = "uk_nino"
)

// predefined lists the built-in types; tiers depend on the format found
// (see the detectors), so Alone and WithKeyword stay zero here.
var predefined = []Type{
	{ID: CreditCard, Name: "Credit card number", Description: "Payment card numbers of the major issuers, Luhn check digit; 75 alone, 85 with a keyword",
		Keywords: []string{"credit card", "card number", "card no", "card num", "cc", "visa", "mastercard", "amex", "american express", "discover", "jcb", "diners club", "expiry", "expiration", "exp date", "cvv", "cvc", "security code", "cardholder", "card holder", "payment card", "debit card"}},
	{ID: USSSN, Name: "U.S. Social Security number", Description: "Area, group and serial rules; formatted 65 alone, 85 with a keyword; unformatted only with a keyword (75)",
		Keywords: []string{"ssn", "ssns", "ss#", "social security", "social security number", "social security no", "soc sec", "ssa number", "taxpayer id"}},
	{ID: IBAN, Name: "International bank account number (IBAN)", Description: "Country length and ISO 13616 mod-97 check digits; 75 alone, 85 with a keyword",
		Keywords: []string{"iban", "international bank account", "bank account", "account number", "account no", "swift", "bic", "wire transfer"}},
	{ID: Email, Name: "Email address", Description: "RFC 5322 addr-spec shape with a dotted domain; 65 alone, 75 with a keyword",
		Keywords: []string{"email", "e-mail", "mail", "contact", "address"}},
	{ID: Phone, Name: "Phone number", Description: "North American numbers (area and exchange rules) and international numbers after a plus sign; formatted 65 alone, 75 with a keyword",
		Keywords: []string{"phone", "telephone", "tel", "mobile", "cell", "fax", "call", "contact"}},
	{ID: USPassport, Name: "U.S. passport number", Description: "Nine digits, or a letter and eight digits; only with a keyword (75)",
		Keywords: []string{"passport", "passport number", "passport no", "passport#", "us passport", "u.s. passport", "travel document"}},
	{ID: UKPassport, Name: "U.K. passport number", Description: "Nine digits; only with a keyword (75)",
		Keywords: []string{"uk passport", "british passport", "hm passport office", "passport office", "united kingdom passport"}},
	{ID: IndiaPassport, Name: "India passport number", Description: "A letter and seven digits; only with a keyword (75)",
		Keywords: []string{"passport", "indian passport", "republic of india", "passport no"}},
	{ID: CanadaSIN, Name: "Canada social insurance number", Description: "Nine digits, Luhn, not starting 0 or 8; only with a keyword: formatted 85, unformatted 75",
		Keywords: []string{"sin", "social insurance", "social insurance number", "numero d'assurance sociale", "assurance sociale", "insurance number"}},
	{ID: IndiaAadhaar, Name: "India Aadhaar number", Description: "Twelve digits, Verhoeff check digit; formatted 65 alone, 85 with a keyword; unformatted only with a keyword (75)",
		Keywords: []string{"aadhaar", "aadhar", "uidai", "unique identification", "uid"}},
	{ID: UKNINO, Name: "U.K. National Insurance number", Description: "Two letters (HMRC's prefix rules), six digits, A-D; 75 alone, 85 with a keyword",
		Keywords: []string{"national insurance", "national insurance number", "nino", "ni number", "ni no", "insurance number"}},
}

// Predefined returns the built-in types (a copy).
func Predefined() []Type {
	out := make([]Type, len(predefined))
	for i, t := range predefined {
		t.Predefined = true
		t.Window = DefaultWindow
		t.Keywords = append([]string(nil), t.Keywords...)
		out[i] = t
	}
	return out
}

// IsPredefined reports whether id names a built-in type.
func IsPredefined(id string) bool {
	for _, t := range predefined {
		if t.ID == id {
			return true
		}
	}
	return false
}

// kind numbers the digit-based predefined types, for the detectors.
type kind int

const (
	kCard kind = iota
	kSSN
	kIBAN
	kPhone
	kUSPassport
	kUKPassport
	kIndiaPassport
	kSIN
	kAadhaar
	kNINO
	numKinds
)

var kindIDs = [numKinds]string{CreditCard, USSSN, IBAN, Phone, USPassport, UKPassport, IndiaPassport, CanadaSIN, IndiaAadhaar, UKNINO}
