// Package smtpsink is a real SMTP server for tests (built on
// emersion/go-smtp): it listens on loopback, offers STARTTLS with its own
// certificate and PLAIN authentication, stores every message it accepts,
// and can refuse the next deliveries with a given reply code, so tests
// assert what arrived and how the sender retried.
package smtpsink

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted delivery: the envelope and the raw RFC 5322 data.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Sink is a running SMTP server. Its methods are safe for concurrent use.
type Sink struct {
	Host string
	Port int
	// CAs trusts the sink's certificate (for the sender's TLS config).
	CAs *x509.CertPool

	srv *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	arrived  chan struct{}
	failures []int // reply codes for the next deliveries, in order
	attempts int   // MAIL FROM commands seen
	user     string
	password string
}

// Options configure a sink: credentials required when User is set.
type Options struct {
	User, Password string
}

// Start runs a sink on 127.0.0.1 until the test ends.
func Start(tb testing.TB, o Options) *Sink {
	tb.Helper()
	cert, pool := selfSigned(tb)
	s := &Sink{CAs: pool, arrived: make(chan struct{}, 1000), user: o.User, password: o.Password}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 32 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtpsink: %v", err)
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	go func() { _ = s.srv.Serve(l) }()
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// FailNext makes the next len(codes) deliveries fail at MAIL FROM with
// these reply codes (for example 451, transient, or 550, permanent).
func (s *Sink) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, codes...)
}

// Attempts is how many deliveries were started (MAIL FROM commands).
func (s *Sink) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Messages returns the messages accepted so far, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns once n messages have arrived, failing the test after 30
// seconds.
func (s *Sink) Wait(tb testing.TB, n int) []Message {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			tb.Fatalf("smtpsink: %d of %d messages arrived", len(s.Messages()), n)
		}
	}
}

type session struct {
	sink   *Sink
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if ss.sink.user == "" || user != ss.sink.user || password != ss.sink.password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	s := ss.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.user != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	if len(s.failures) > 0 {
		code := s.failures[0]
		s.failures = s.failures[1:]
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "refused by the test"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	s := ss.sink
	s.mu.Lock()
	s.msgs = append(s.msgs, Message{From: ss.from, To: ss.to, Data: b.Bytes()})
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtpsink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
