package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// baseURL is Options.PublicURL, or else the scheme and host the request
// was made to. A TLS-terminating proxy listed in Options.TrustedProxies can
// say https with X-Forwarded-Proto; from any other peer the header is
// ignored. Set PublicURL to depend on neither.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil || (viaTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// normalizePublicURL checks Options.PublicURL: an absolute http(s) URL
// without query or fragment. It returns it without a trailing slash.
func normalizePublicURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("server: public URL %q must be an absolute http(s) URL without query or fragment", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
