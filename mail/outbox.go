package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/holdfast/holdfast"
)

// Outbox writes each message as one RFC 5322 .eml file into Dir, for a
// server without an SMTP server: an operator delivers or opens them by
// hand. A file appears whole or not at all: it is written under a
// temporary name, synced, then renamed. Safe for concurrent use.
type Outbox struct {
	Dir   string
	From  string         // "" is DefaultFrom
	Clock holdfast.Clock // dates the message and names the file; nil is the wall clock
}

var _ holdfast.Mailer = Outbox{}

// Send writes m to a new file <UTC time>-<random>.eml in Dir (mode 0600:
// it may hold a live link or an account's data).
func (o Outbox) Send(ctx context.Context, m holdfast.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := holdfast.ClockOrSystem(o.Clock).Now().UTC()
	msg, err := compose(senderOr(o.From), m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	tmp, err := os.CreateTemp(o.Dir, ".sending-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes a failed write
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := filepath.Join(o.Dir, now.Format("20060102T150405Z")+"-"+randomID()+".eml")
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
