package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/holdfast/holdfast"
	gomail "github.com/wneessen/go-mail"
)

// TLS policies of an SMTP connection.
const (
	TLSMandatory     = "mandatory"     // STARTTLS or refuse to send
	TLSOpportunistic = "opportunistic" // STARTTLS when the server offers it
	TLSImplicit      = "implicit"      // TLS from the first byte (SMTPS, port 465)
	TLSNone          = "none"          // plain text, credentials too: a relay on the same host only
)

// SMTPOptions configure an SMTP mailer. Password is never logged.
type SMTPOptions struct {
	Host     string
	Port     int    // 0: 587, or 465 with TLSImplicit
	TLS      string // one of the TLS policies; "" is TLSMandatory
	Username string // "" sends without authentication
	Password holdfast.Secret
	From     string         // "" is DefaultFrom
	Clock    holdfast.Clock // dates the message; nil is the wall clock
	// TLSConfig overrides the TLS client configuration (tests trust their
	// own certificate authority with it); nil verifies against the system.
	TLSConfig *tls.Config
	// Timeout bounds one connection attempt; 0 is 30 seconds.
	Timeout time.Duration
	// Retry bounds the retries of transient failures (a refused or dropped
	// connection, a 4xx answer); zero values are 5 attempts over at most 2
	// minutes, starting at half a second.
	Attempts       uint
	RetryFor       time.Duration
	RetryInitially time.Duration
}

// SMTP sends each message in its own SMTP session through
// wneessen/go-mail. Safe for concurrent use.
type SMTP struct {
	o SMTPOptions
}

var _ holdfast.Mailer = (*SMTP)(nil)

// NewSMTP checks the options: a host, a known TLS policy, a port in range.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	var v holdfast.ValidationError
	if o.Host == "" {
		v.Add("smtp_host", "is required")
	}
	switch o.TLS {
	case "", TLSMandatory, TLSOpportunistic, TLSImplicit, TLSNone:
	default:
		v.Add("smtp_tls", "must be mandatory, opportunistic, implicit or none")
	}
	if o.Port < 0 || o.Port > 65535 {
		v.Add("smtp_port", "must be between 1 and 65535")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &SMTP{o: o}, nil
}

// Send delivers m, retrying transient failures with exponential backoff;
// a permanent refusal (5xx, bad credentials, a certificate that does not
// verify) is returned at once.
func (s *SMTP) Send(ctx context.Context, m holdfast.Message) error {
	msg, err := compose(senderOr(s.o.From), m, holdfast.ClockOrSystem(s.o.Clock).Now())
	if err != nil {
		return err
	}
	client, err := s.client()
	if err != nil {
		return err
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = cmpOr(s.o.RetryInitially, 500*time.Millisecond)
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		err := client.DialAndSendWithContext(ctx, msg)
		if err != nil && !transient(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(cmpOr(s.o.Attempts, 5)),
		backoff.WithMaxElapsedTime(cmpOr(s.o.RetryFor, 2*time.Minute)))
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// client builds a go-mail client for one message's session.
func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithTimeout(cmpOr(s.o.Timeout, 30*time.Second))}
	switch s.o.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(cmpOr(s.o.Port, 465)))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic), gomail.WithPort(cmpOr(s.o.Port, 587)))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithPort(cmpOr(s.o.Port, 587)))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithPort(cmpOr(s.o.Port, 587)))
	}
	if s.o.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.o.TLSConfig))
	}
	if s.o.Username != "" {
		// Under TLS none the operator chose plain text (a relay on the
		// same host): PLAIN is then the only mechanism go-mail sends in
		// the clear; otherwise the strongest the server offers.
		auth := gomail.SMTPAuthAutoDiscover
		if s.o.TLS == TLSNone {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.o.Username), gomail.WithPassword(s.o.Password.Reveal()))
	}
	c, err := gomail.NewClient(s.o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return c, nil
}

// transient reports whether a failed attempt may succeed later: a 4xx
// answer, or a connection refused, timed out or dropped.
func transient(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) && se.IsTemp() {
		return true
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var ne net.Error
	return errors.As(err, &ne)
}
