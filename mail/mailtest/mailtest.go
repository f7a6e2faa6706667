package mailtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/holdfast/holdfast"
)

// Delivered is one message as the far side got it: the envelope's
// recipients (nil where there is no envelope, as in an outbox) and the raw
// RFC 5322 data.
type Delivered struct {
	Rcpt []string
	Data []byte
}

// Harness is a mailer under test and a way to read what it delivered:
// Wait returns the messages delivered so far once there are at least n.
type Harness struct {
	Mailer holdfast.Mailer
	Wait   func(tb testing.TB, n int) []Delivered
}

// TestMailer is the conformance suite of holdfast.Mailer.
func TestMailer(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("Delivers", func(t *testing.T) { testDelivers(t, newHarness(t)) })
	t.Run("RefusesInvalid", func(t *testing.T) { testRefusesInvalid(t, newHarness(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newHarness(t)) })
}

// sample has a non-ASCII subject, a multi-line text and two attachments,
// one of them binary.
func sample() holdfast.Message {
	bin := make([]byte, 3000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	return holdfast.Message{
		To:      []string{"ana@example.com", "Bo Li <bo@example.org>"},
		Subject: "Rapport quotidien — sauvegardes",
		Text:    "Hello,\n\nthe report is attached.\nLine with = and a very long tail " + string(slices.Repeat([]byte("x"), 200)) + "\n",
		Attachments: []holdfast.Attachment{
			{Name: "last-backup.csv", ContentType: "text/csv", Data: []byte("device,user\r\n'=cmd,ana@example.com\r\n")},
			{Name: "blob.bin", Data: bin},
		},
	}
}

func testDelivers(t *testing.T, h Harness) {
	m := sample()
	if err := h.Mailer.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := h.Wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(got))
	}
	d := got[0]
	if d.Rcpt != nil && !sameSet(d.Rcpt, []string{"ana@example.com", "bo@example.org"}) {
		t.Errorf("envelope recipients %v", d.Rcpt)
	}
	p, err := Parse(d.Data)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, d.Data)
	}
	checkParsed(t, p, m)
}

func checkParsed(t *testing.T, p Parsed, m holdfast.Message) {
	t.Helper()
	if !sameSet(p.To, []string{"ana@example.com", "bo@example.org"}) {
		t.Errorf("To %v", p.To)
	}
	if p.Subject != m.Subject {
		t.Errorf("Subject %q, want %q", p.Subject, m.Subject)
	}
	for _, h := range []string{"From", "Date", "Message-Id"} {
		if p.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if p.Text != m.Text {
		t.Errorf("text %q, want %q", p.Text, m.Text)
	}
	if len(p.Attachments) != len(m.Attachments) {
		t.Errorf("%d attachments, want %d", len(p.Attachments), len(m.Attachments))
	}
	for _, a := range m.Attachments {
		got, ok := p.Attachments[a.Name]
		want := a.ContentType
		if want == "" {
			want = "application/octet-stream"
		}
		if !ok || got.ContentType != want || string(got.Data) != string(a.Data) {
			t.Errorf("attachment %s: got %q (%d bytes), want %q (%d bytes), intact=%v", a.Name, got.ContentType, len(got.Data), want, len(a.Data), string(got.Data) == string(a.Data))
		}
	}
}

func testRefusesInvalid(t *testing.T, h Harness) {
	bad := []holdfast.Message{
		{Subject: "no recipient", Text: "x"},
		{To: []string{"not an address"}, Subject: "x", Text: "x"},
		{To: []string{"a@example.com"}, Subject: "two\r\nBcc: eve@example.com", Text: "x"},
		{To: []string{"a@example.com"}, Subject: "x", Attachments: []holdfast.Attachment{{Name: "../x"}}},
	}
	for i, m := range bad {
		if err := h.Mailer.Send(context.Background(), m); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("bad message %d: %v, want ErrInvalid", i, err)
		}
	}
	ok := holdfast.Message{To: []string{"marker@example.com"}, Subject: "marker", Text: "ok"}
	if err := h.Mailer.Send(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	got := h.Wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered, want only the valid one", len(got))
	}
	if p, err := Parse(got[0].Data); err != nil || p.Subject != "marker" {
		t.Errorf("delivered %q (%v), want the marker", p.Subject, err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.Mailer.Send(context.Background(), holdfast.Message{To: []string{"c@example.com"}, Subject: fmt.Sprintf("m%d", i), Text: "x"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := h.Wait(t, n)
	var subjects []string
	for _, d := range got {
		p, err := Parse(d.Data)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, p.Subject)
	}
	slices.Sort(subjects)
	if want := []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"}; !slices.Equal(subjects, want) {
		t.Errorf("subjects %v, want %v", subjects, want)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
