// Package egress is the one HTTP client Holdfast uses to fetch from
// addresses an administrator typed in (an identity provider's metadata,
// discovery document and keys; later webhooks). Such a URL must not turn
// the server into a probe of its own network, so every connection and
// every redirect hop is held to the same rules:
//
//   - https, or plain http only to a loopback host named as such, and never
//     a downgrade from https to http on a redirect;
//   - the address actually dialled (after DNS, so a name that resolves to
//     an internal address is caught at connect time) is public: not
//     loopback, private (RFC 1918, fc00::/7), shared (100.64/10),
//     link-local, unspecified or multicast, unless Options.AllowPrivate;
//   - no proxy from the environment, whose address would be dialled in the
//     target's place.
//
// Failures match ErrRefused; callers report one generic message and log
// the detail.
package egress

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrRefused is a URL or an address the rules do not allow.
var ErrRefused = errors.New("egress: refused")

// maxRedirects bounds the redirect hops of one request.
const maxRedirects = 5

// Options configure a client.
type Options struct {
	// AllowPrivate lets the client reach loopback, private and link-local
	// addresses: for identity providers on the same host or network
	// (tests, CI peers, an on-premises IdP).
	AllowPrivate bool
	// Timeout bounds a whole request, redirects and body included;
	// zero means 10 s.
	Timeout time.Duration
	// TLSConfig is the transport's TLS configuration; nil uses the
	// system roots.
	TLSConfig *tls.Config
}

// NewClient returns a client that enforces the package rules. It is safe
// for concurrent use.
func NewClient(opts Options) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot read address %q", ErrRefused, address)
		}
		if !opts.AllowPrivate && !Public(ap.Addr()) {
			return fmt.Errorf("%w: %s is not a public address", ErrRefused, ap.Addr())
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       opts.TLSConfig,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Timeout:   opts.Timeout,
		Transport: checkedTransport{transport},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRefused, maxRedirects)
			}
			if prev := via[len(via)-1].URL; prev.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect from https to %s", ErrRefused, req.URL.Scheme)
			}
			return CheckURL(req.URL)
		},
	}
}

// checkedTransport holds the first URL of a request to CheckURL too, so a
// caller cannot skip the rules by not checking.
type checkedTransport struct{ next http.RoundTripper }

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// CheckURL reports whether u may be fetched: an absolute https URL, or
// http on a loopback host (localhost or a loopback address). It returns
// an error matching ErrRefused otherwise.
func CheckURL(u *url.URL) error {
	if u == nil || u.Host == "" {
		return fmt.Errorf("%w: not an absolute URL", ErrRefused)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if LoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: plain http to %s, which is not a loopback host", ErrRefused, u.Hostname())
	}
	return fmt.Errorf("%w: scheme %q", ErrRefused, u.Scheme)
}

// LoopbackHost reports whether host is localhost or a loopback address.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// sharedSpace is RFC 6598's carrier-grade NAT range, private in effect.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// Public reports whether a is a public unicast address: not loopback,
// private, shared, link-local, unspecified or multicast.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}
