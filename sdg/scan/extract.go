package scan

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"path"
	"sort"
	"strings"

	"golang.org/x/net/html"
)

// MaxExtractBytes bounds the text taken from one item (a zip bomb or a
// huge part stops there).
const MaxExtractBytes = 64 << 20

// ErrUnsupported is an item whose format the scanner does not read.
var ErrUnsupported = errors.New("scan: unsupported format")

// Extract returns the text of an item for scanning, by its name's
// extension: plain text and CSV as they are, HTML without its markup,
// Office Open XML documents (.docx, .xlsx, .pptx) from their XML parts,
// and mail (.eml) as its headers, its text bodies and its text
// attachments. Other formats are ErrUnsupported.
func Extract(name string, data []byte) ([]byte, error) {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".csv", ".tsv", ".log", ".md", ".json", ".xml", ".ics", ".vcf":
		return data[:min(len(data), MaxExtractBytes)], nil
	case ".html", ".htm":
		return htmlText(bytes.NewReader(data))
	case ".docx", ".xlsx", ".pptx":
		return ooxmlText(data)
	case ".eml":
		return mailText(data)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, path.Ext(name))
}

// limited collects text up to MaxExtractBytes.
type limited struct{ bytes.Buffer }

func (l *limited) add(s string) {
	if room := MaxExtractBytes - l.Len(); room > 0 {
		l.WriteString(s[:min(len(s), room)])
	}
}

// htmlText is the text of an HTML document, scripts and styles left out,
// a space between elements.
func htmlText(r io.Reader) ([]byte, error) {
	var out limited
	z := html.NewTokenizer(r)
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				return out.Bytes(), nil
			}
			return out.Bytes(), z.Err()
		case html.StartTagToken:
			if n, _ := z.TagName(); string(n) == "script" || string(n) == "style" {
				skip++
			}
			out.add(" ")
		case html.EndTagToken:
			if n, _ := z.TagName(); (string(n) == "script" || string(n) == "style") && skip > 0 {
				skip--
			}
			out.add(" ")
		case html.TextToken:
			if skip == 0 {
				out.add(string(z.Text()))
			}
		}
	}
}

// ooxmlParts are the parts of an Office Open XML package that hold text.
func ooxmlPart(name string) bool {
	switch {
	case name == "word/document.xml", strings.HasPrefix(name, "word/header"), strings.HasPrefix(name, "word/footer"),
		name == "word/footnotes.xml", name == "word/comments.xml":
		return true
	case name == "xl/sharedStrings.xml", strings.HasPrefix(name, "xl/worksheets/sheet"):
		return true
	case strings.HasPrefix(name, "ppt/slides/slide"), strings.HasPrefix(name, "ppt/notesSlides/"):
		return true
	}
	return false
}

// ooxmlText is the character data of the text parts of a .docx, .xlsx or
// .pptx, a line between paragraphs and rows, a space between cells.
func ooxmlText(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("scan: office document: %w", err)
	}
	files := append([]*zip.File(nil), zr.File...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var out limited
	for _, f := range files {
		if !ooxmlPart(f.Name) || out.Len() >= MaxExtractBytes {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("scan: office document %s: %w", f.Name, err)
		}
		err = xmlText(io.LimitReader(rc, MaxExtractBytes), &out)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("scan: office document %s: %w", f.Name, err)
		}
	}
	return out.Bytes(), nil
}

// xmlText appends the character data of an XML document.
func xmlText(r io.Reader, out *limited) error {
	d := xml.NewDecoder(r)
	d.Strict = false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			out.add(string(t))
		case xml.EndElement:
			// runs of one paragraph join as they are (Word splits text
			// into runs anywhere, a number too); paragraphs, rows and
			// cells are apart
			switch t.Name.Local {
			case "p", "si", "row", "tr":
				out.add("\n")
			case "c", "tc", "tab", "br":
				out.add(" ")
			}
		}
	}
}

// mailText is a message's headers, then every text part (bodies and
// attachments alike), HTML parts without their markup.
func mailText(data []byte) ([]byte, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("scan: mail: %w", err)
	}
	var out limited
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dec := new(mime.WordDecoder)
	for _, k := range keys {
		for _, v := range m.Header[k] {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			out.add(k + ": " + v + "\n")
		}
	}
	err = mailPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &out, 0)
	return out.Bytes(), err
}

// mailPart appends the text of one MIME part (recursing into multiparts).
func mailPart(ctype, encoding string, body io.Reader, out *limited, depth int) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if ctype == "" || err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") && depth < 10 {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("scan: mail part: %w", err)
			}
			if err := mailPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out, depth+1); err != nil {
				return err
			}
		}
	}
	if !strings.HasPrefix(mt, "text/") {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(decodeTransfer(encoding, body), MaxExtractBytes))
	if err != nil {
		return fmt.Errorf("scan: mail part: %w", err)
	}
	if mt == "text/html" {
		t, err := htmlText(bytes.NewReader(b))
		if err != nil {
			return err
		}
		b = t
	}
	out.add(string(b))
	out.add("\n")
	return nil
}

// decodeTransfer undoes a part's Content-Transfer-Encoding.
func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineDropper{r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// newlineDropper drops CR and LF, which base64 bodies wrap with.
type newlineDropper struct{ r io.Reader }

func (n newlineDropper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
