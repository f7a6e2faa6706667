package export

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-webdav"
)

// PROPFIND of the file tree, answered here rather than by go-webdav: its
// reflection-based XML encoding took most of a depth-1 listing of 10,000
// messages, it gives collections no properties but resourcetype, and it
// leaves characters such as @ unescaped in hrefs (which cadaver does not
// match to the URL it asked for). This writes RFC 4918 multistatus
// directly: one response per resource, a 200 propstat with the properties
// it has and a 404 propstat with the requested ones it has not.

// davNS is the DAV: namespace.
const davNS = "DAV:"

// liveProps are the properties of every resource, in the order allprop
// lists them. Folders have no etag, length or type.
var liveProps = []string{"resourcetype", "displayname", "getlastmodified", "getetag", "getcontentlength", "getcontenttype"}

// propfindBody is a PROPFIND request body (RFC 4918 14.20).
type propfindBody struct {
	XMLName  xml.Name  `xml:"DAV: propfind"`
	AllProp  *struct{} `xml:"DAV: allprop"`
	PropName *struct{} `xml:"DAV: propname"`
	Prop     *struct {
		Props []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"DAV: prop"`
}

// ErrBadPropfind is a PROPFIND body this server cannot answer; it is 400.
var ErrBadPropfind = errors.New("bad PROPFIND body")

// parsePropfind returns the requested properties (nil for allprop) and
// whether only their names are wanted.
func parsePropfind(body []byte) (props []xml.Name, namesOnly bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, false, nil // RFC 4918 9.1: an empty body is allprop
	}
	var pf propfindBody
	if err := xml.Unmarshal(body, &pf); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrBadPropfind, err)
	}
	switch {
	case pf.PropName != nil:
		return nil, true, nil
	case pf.Prop != nil:
		for _, p := range pf.Prop.Props {
			props = append(props, p.XMLName)
		}
		if len(props) == 0 {
			return nil, false, fmt.Errorf("%w: prop names no property", ErrBadPropfind)
		}
		return props, false, nil
	case pf.AllProp != nil:
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("%w: propfind holds none of prop, allprop, propname", ErrBadPropfind)
}

// Propfind writes the 207 multistatus of a PROPFIND of name at depth 0 or
// 1 (the caller refuses infinity) from fsys's Stat and ReadDir. Errors
// (404, 400) are returned before anything is written.
func Propfind(ctx context.Context, w http.ResponseWriter, fsys webdav.FileSystem, name string, depth int, body []byte) error {
	props, namesOnly, err := parsePropfind(body)
	if err != nil {
		return err
	}
	fi, err := fsys.Stat(ctx, name)
	if err != nil {
		return err
	}
	infos := []webdav.FileInfo{*fi}
	if depth > 0 && fi.IsDir {
		// ReadDir lists the folder itself first.
		if infos, err = fsys.ReadDir(ctx, name, false); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	b.Grow(300 * len(infos))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<D:multistatus xmlns:D="DAV:">`)
	for i := range infos {
		writeResponse(&b, &infos[i], props, namesOnly)
	}
	b.WriteString("</D:multistatus>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = w.Write(b.Bytes()) // a failed write is a client that left
	return nil
}

func writeResponse(b *bytes.Buffer, fi *webdav.FileInfo, props []xml.Name, namesOnly bool) {
	b.WriteString("<D:response><D:href>")
	b.WriteString(EscapePath(fi.Path))
	b.WriteString("</D:href><D:propstat><D:prop>")
	var missing []xml.Name
	switch {
	case namesOnly:
		for _, p := range liveProps {
			if has(fi, p) {
				b.WriteString("<D:" + p + "/>")
			}
		}
	case props == nil:
		for _, p := range liveProps {
			writeProp(b, fi, p)
		}
	default:
		for _, p := range props {
			if p.Space != davNS || !writeProp(b, fi, p.Local) {
				missing = append(missing, p)
			}
		}
	}
	b.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	if len(missing) > 0 {
		b.WriteString("<D:propstat><D:prop>")
		for i, p := range missing {
			if p.Space == davNS {
				b.WriteString("<D:" + p.Local + "/>")
				continue
			}
			fmt.Fprintf(b, `<x%d:%s xmlns:x%d="`, i, p.Local, i)
			_ = xml.EscapeText(b, []byte(p.Space))
			b.WriteString(`"/>`)
		}
		b.WriteString("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
	}
	b.WriteString("</D:response>")
}

// has reports whether the resource has the live property.
func has(fi *webdav.FileInfo, p string) bool {
	switch p {
	case "resourcetype", "displayname", "getlastmodified":
		return true
	case "getetag":
		return !fi.IsDir && fi.ETag != ""
	case "getcontentlength":
		return !fi.IsDir
	case "getcontenttype":
		return !fi.IsDir && fi.MIMEType != ""
	}
	return false
}

// writeProp writes the live property p of fi, or reports false when fi
// has no such property.
func writeProp(b *bytes.Buffer, fi *webdav.FileInfo, p string) bool {
	if !has(fi, p) {
		return false
	}
	switch p {
	case "resourcetype":
		if fi.IsDir {
			b.WriteString("<D:resourcetype><D:collection/></D:resourcetype>")
		} else {
			b.WriteString("<D:resourcetype/>")
		}
	case "displayname":
		b.WriteString("<D:displayname>")
		_ = xml.EscapeText(b, []byte(displayName(fi.Path)))
		b.WriteString("</D:displayname>")
	case "getlastmodified":
		t := fi.ModTime
		if t.IsZero() {
			t = time.Unix(0, 0)
		}
		b.WriteString("<D:getlastmodified>" + t.UTC().Format(http.TimeFormat) + "</D:getlastmodified>")
	case "getetag":
		b.WriteString(`<D:getetag>"`)
		_ = xml.EscapeText(b, []byte(fi.ETag))
		b.WriteString(`"</D:getetag>`)
	case "getcontentlength":
		b.WriteString("<D:getcontentlength>" + strconv.FormatInt(fi.Size, 10) + "</D:getcontentlength>")
	case "getcontenttype":
		b.WriteString("<D:getcontenttype>")
		_ = xml.EscapeText(b, []byte(fi.MIMEType))
		b.WriteString("</D:getcontenttype>")
	}
	return true
}

func displayName(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// EscapePath percent-encodes every byte of p but unreserved characters
// (RFC 3986 2.3) and the slashes between segments, so that every client
// compares a href to the URL it asked for alike.
func EscapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + len(p)/8)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
