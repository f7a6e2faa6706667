package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/idp/saml/samltest"
)

// metadataServer serves p's metadata over plain http on 127.0.0.1.
func metadataServer(t *testing.T, p *samltest.IdP) *httptest.Server {
	t.Helper()
	md := p.MetadataXML(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write([]byte(md))
	}))
	t.Cleanup(ts.Close)
	return ts
}

// createSAMLFromURL posts a SAML IdP with metadata_url u and returns the
// answer, asserting that a refusal changed nothing.
func createSAMLFromURL(t *testing.T, f *authFixture, u string) (int, errorBody) {
	t.Helper()
	before, audit := f.snapshot()
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "saml", "name": "Probe", "metadata_url": u, "enabled": true})
	if w.Code == http.StatusCreated {
		return w.Code, errorBody{}
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Errorf("a refused IdP changed the store")
	}
	return w.Code, errorOf(t, w)
}

// Without --allow-private-idp, an IdP on a loopback address is not
// fetched at all, however good its metadata.
func TestIdPOnPrivateAddressRefused(t *testing.T) {
	f := newAuthFixture(t, func(_ *fixture, o *Options) {
		o.Auth.Providers = ssoProviders(t, o, egress.NewClient(egress.Options{}))
	})
	ts := metadataServer(t, samltest.New(t))
	code, e := createSAMLFromURL(t, f, ts.URL+"/metadata")
	if code != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Field != "metadata_url" {
		t.Fatalf("loopback IdP without the allowance: %d %+v, want 422 on metadata_url", code, e)
	}
	if !strings.Contains(f.log.String(), "not a public address") {
		t.Errorf("the server log lacks the reason:\n%s", f.log)
	}
}

// A redirect hop is held to the rules of the first URL: an https
// metadata URL that redirects to plain http is not followed, though the
// http target serves good metadata.
func TestIdPRedirectDowngradeRefused(t *testing.T) {
	target := metadataServer(t, samltest.New(t))
	tlsTS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
	}))
	t.Cleanup(tlsTS.Close)
	pool := x509.NewCertPool()
	pool.AddCert(tlsTS.Certificate())
	f := newAuthFixture(t, func(_ *fixture, o *Options) {
		o.Auth.Providers = ssoProviders(t, o, egress.NewClient(egress.Options{AllowPrivate: true, TLSConfig: &tls.Config{RootCAs: pool}}))
	})
	if code, e := createSAMLFromURL(t, f, target.URL+"/metadata"); code != http.StatusCreated {
		t.Fatalf("direct loopback metadata: %d %+v, want 201", code, e)
	}
	code, e := createSAMLFromURL(t, f, tlsTS.URL+"/metadata")
	if code != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Field != "metadata_url" {
		t.Fatalf("https redirecting to http: %d %+v, want 422 on metadata_url", code, e)
	}
}

// The answer does not tell an open port from a closed one, or a 404 from
// a page that is not metadata: every failed fetch reads the same.
func TestIdPFetchFailuresReadAlike(t *testing.T) {
	f := newAuthFixture(t)
	open404 := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(open404.Close)
	notXML := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("SSH-2.0-OpenSSH_9.6")) }))
	t.Cleanup(notXML.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	offLoopback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://203.0.113.7/metadata", http.StatusFound)
	}))
	t.Cleanup(offLoopback.Close)

	var first string
	for _, u := range []string{open404.URL, notXML.URL, closed, offLoopback.URL} {
		code, e := createSAMLFromURL(t, f, u+"/metadata")
		if code != http.StatusUnprocessableEntity || len(e.Fields) != 1 {
			t.Fatalf("%s: %d %+v, want 422", u, code, e)
		}
		msg := e.Message
		if first == "" {
			first = msg
		} else if msg != first {
			t.Errorf("%s: message %q differs from %q", u, msg, first)
		}
		// The same for OIDC discovery.
		w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "oidc", "name": "Probe", "issuer": u, "client_id": "c", "enabled": true})
		if oe := errorOf(t, w); w.Code != http.StatusUnprocessableEntity || len(oe.Fields) != 1 || oe.Fields[0].Field != "issuer" ||
			strings.Contains(oe.Message, "refused") || strings.Contains(oe.Message, "404") {
			t.Errorf("OIDC %s: %d %+v", u, w.Code, oe)
		}
	}
	if strings.Contains(first, "127.0.0.1") || strings.Contains(first, "refused") {
		t.Errorf("the message names the target or the failure: %q", first)
	}
}
