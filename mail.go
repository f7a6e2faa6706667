package holdfast

import "context"

// Message is one e-mail: plain text to named recipients, with files
// attached. The sender is the Mailer's (the operator configures it).
type Message struct {
	To          []string
	Subject     string
	Text        string
	Attachments []Attachment
}

// Attachment is a file carried by a Message.
type Attachment struct {
	Name        string // the file name the recipient sees
	ContentType string // for example text/csv; "" is application/octet-stream
	Data        []byte
}

// Mailer delivers messages: invitations, password reset links and
// scheduled reports.
//
// Contract (enforced by mail/mailtest):
//   - Send delivers m to every address of m.To with its subject, text and
//     attachments intact, or returns an error; a message without a
//     recipient, or with an address that does not parse, is ErrInvalid
//     and nothing is sent.
//   - A message is delivered whole or not at all (no half-written file, no
//     truncated body).
//   - Implementations never log a message's text or attachments (they
//     carry links and data) nor the credentials they use, and are safe for
//     concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}
