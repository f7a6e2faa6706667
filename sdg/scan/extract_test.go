package scan

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const testMail = "From: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.org>\r\n" +
	"To: hr@example.com\r\n" +
	"Subject: =?UTF-8?B?U1NOIDUzNi0yMi0xMjM0?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Card number 4111 1111 =\r\n1111 1111, thanks\r\n" +
	"--b1\r\nContent-Type: text/csv; name=pay.csv\r\nContent-Disposition: attachment; filename=pay.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"bmFtZSxpYmFuCkFubixHQjgyIFdFU1QgMTIzNCA1Njk4IDc2NTQgMzIK\r\n" +
	"--b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nNDExMTExMTExMTExMTExMQ==\r\n" +
	"--b1--\r\n"

// TestExtract: each format gives the text the scanner then finds the
// values in; markup, scripts and binary attachments do not count, and a
// number Word split across runs stays whole.
func TestExtract(t *testing.T) {
	s := allPredefined(t)
	cases := []struct {
		name string
		data []byte
		want []string // type:confidence of the matches
	}{
		{"notes.txt", []byte("SSN 536-22-1234"), []string{"us_ssn:85"}},
		{"page.html", []byte(`<html><script>var c="4111111111111111"</script><p>IBAN:<b> DE89370400440532013000</b></p></html>`), []string{"iban:85"}},
		{"letter.docx", zipOf(t, map[string]string{
			"word/document.xml": `<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>SSN 536-22-</w:t></w:r><w:r><w:t>1234</w:t></w:r></w:p><w:p><w:r><w:t>4111111111111111</w:t></w:r></w:p></w:body></w:document>`,
			"word/styles.xml":   `<x>378282246310005</x>`,
		}), []string{"us_ssn:85", "credit_card:75"}},
		{"book.xlsx", zipOf(t, map[string]string{
			"xl/sharedStrings.xml":     `<sst><si><t>card number</t></si><si><t>5500 0000 0000 0004</t></si></sst>`,
			"xl/worksheets/sheet1.xml": `<worksheet><sheetData><row><c><v>1</v></c><c><v>536221234</v></c></row></sheetData></worksheet>`,
		}), []string{"credit_card:85"}},
		{"deck.pptx", zipOf(t, map[string]string{"ppt/slides/slide1.xml": `<p:sld><a:p><a:r><a:t>mail jd@example.org</a:t></a:r></a:p></p:sld>`}), []string{"email:75"}},
		{"msg.eml", []byte(testMail), []string{"email:65", "us_ssn:85", "email:65", "credit_card:85", "iban:85"}}, // headers by name, then the parts
	}
	for _, c := range cases {
		text, err := Extract(c.name, c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, m := range s.Scan(text) {
			got = append(got, m.Type+":"+itoa(int(m.Confidence)))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: got %v, want %v in %q", c.name, got, c.want, text)
		}
	}
	if _, err := Extract("photo.jpg", []byte{0xff, 0xd8}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a JPEG: %v", err)
	}
	if _, err := Extract("broken.docx", []byte("not a zip")); err == nil {
		t.Error("a broken .docx extracted")
	}
}

// FuzzExtract: no input makes extraction panic, and the text is bounded.
func FuzzExtract(f *testing.F) {
	f.Add("msg.eml", []byte(testMail))
	f.Add("page.html", []byte(`<p>a<script>b</script>c</p>`))
	f.Add("a.docx", zipOf(f, map[string]string{"word/document.xml": "<w:p><w:t>x</w:t></w:p>"}))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		for _, ext := range []string{".eml", ".html", ".docx", name} {
			text, _ := Extract("x"+ext, data)
			if len(text) > MaxExtractBytes {
				t.Fatalf("%d bytes of text", len(text))
			}
		}
	})
}
