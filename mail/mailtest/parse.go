// Package mailtest is the conformance suite every holdfast.Mailer runs,
// and a parser tests use to read back what was delivered.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Parsed is a delivered message read back: its headers, its text and its
// attachments by file name.
type Parsed struct {
	Header      mail.Header
	Subject     string
	To          []string // addresses of the To header
	Text        string
	Attachments map[string]Part
}

// Part is one attachment read back.
type Part struct {
	ContentType string
	Data        []byte
}

// Parse reads an RFC 5322 message: a text/plain body, or a multipart one
// whose text/plain part is the text and whose other parts are attachments.
func Parse(raw []byte) (Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, err
	}
	p := Parsed{Header: m.Header, Attachments: map[string]Part{}}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return p, err
	}
	to, err := m.Header.AddressList("To")
	if err != nil {
		return p, fmt.Errorf("to: %w", err)
	}
	for _, a := range to {
		p.To = append(p.To, a.Address)
	}
	return p, p.readPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body)
}

func (p *Parsed) readPart(contentType, encoding, disposition string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.readPart(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part); err != nil {
				return err
			}
		}
	}
	data, err := decode(encoding, body)
	if err != nil {
		return err
	}
	if _, dp, err := mime.ParseMediaType(disposition); err == nil && dp["filename"] != "" {
		p.Attachments[dp["filename"]] = Part{ContentType: mt, Data: data}
		return nil
	}
	if mt == "text/plain" && p.Text == "" {
		p.Text = strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	return nil
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, &stripNewlines{r: r}))
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(r))
	}
	return io.ReadAll(r)
}

// stripNewlines drops CR and LF so base64 lines decode as one stream.
type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	out := b[:0]
	for _, c := range b[:n] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}
