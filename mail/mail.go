// Package mail delivers holdfast.Messages: by SMTP (SMTP, through
// wneessen/go-mail, with retries for transient failures) or, when no SMTP
// server is configured, as .eml files in an outbox directory (Outbox).
// Both compose the same RFC 5322 message and run mailtest's conformance
// suite.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	gomail "github.com/wneessen/go-mail"
)

// DefaultFrom is the sender when none is configured.
const DefaultFrom = "holdfast@localhost"

// MaxRecipients bounds one message's recipients: a schedule names people,
// not a distribution list.
const MaxRecipients = 100

// Validate refuses a message without a recipient, with too many, with an
// address that does not parse, or with a subject that is not one line,
// naming the field.
func Validate(m holdfast.Message) error {
	var v holdfast.ValidationError
	if len(m.To) == 0 {
		v.Add("to", "names no recipient")
	}
	if len(m.To) > MaxRecipients {
		v.Add("to", "names more than %d recipients", MaxRecipients)
	}
	for i, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil || strings.ContainsAny(to, "\r\n") {
			v.Add(fmt.Sprintf("to[%d]", i), "is not an e-mail address")
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		v.Add("subject", "must be one line")
	}
	for i, a := range m.Attachments {
		if a.Name == "" || strings.ContainsAny(a.Name, "\r\n/\\") {
			v.Add(fmt.Sprintf("attachments[%d].name", i), "must be a file name")
		}
	}
	return v.Err()
}

// compose builds the RFC 5322 message: plain UTF-8 text, each attachment
// a base64 part, the date from the clock, a fresh Message-ID.
func compose(from string, m holdfast.Message, now time.Time) (*gomail.Msg, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, holdfast.ErrInvalid)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("mail: recipients: %w", holdfast.ErrInvalid)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now.UTC())
	msg.SetMessageIDWithValue(randomID() + "@holdfast")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("mail: attachment %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func senderOr(from string) string {
	if from == "" {
		return DefaultFrom
	}
	return from
}
