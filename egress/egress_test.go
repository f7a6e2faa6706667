package egress

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860:4860::8888": true, "93.184.216.34": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "100.64.0.1": false,
		"fd00::1": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://idp.example.com/md": true, "http://127.0.0.1:8080/md": true, "http://localhost/md": true, "http://[::1]/md": true,
		"http://idp.example.com/md": false, "http://10.0.0.1/md": false, "ftp://idp.example.com/md": false, "/relative": false,
	} {
		req, _ := http.NewRequest("GET", raw, nil)
		if err := CheckURL(req.URL); (err == nil) != ok {
			t.Errorf("CheckURL(%s) = %v, want ok %v", raw, err, ok)
		}
	}
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// A loopback address is refused at connect time unless allowed.
func TestPrivateAddressNeedsAllowance(t *testing.T) {
	ts := serve(t, ok)
	if err := get(NewClient(Options{}), ts.URL); !errors.Is(err, ErrRefused) {
		t.Errorf("loopback without the allowance: %v, want ErrRefused", err)
	}
	if err := get(NewClient(Options{AllowPrivate: true}), ts.URL); err != nil {
		t.Errorf("loopback with the allowance: %v", err)
	}
}

// A name that resolves to a private address is caught where it is
// dialled, not by looking at the name.
func TestNameResolvingToLoopbackRefused(t *testing.T) {
	ts := serve(t, ok)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	err := get(NewClient(Options{}), "http://localhost:"+port+"/")
	if !errors.Is(err, ErrRefused) {
		t.Errorf("localhost without the allowance: %v, want ErrRefused", err)
	}
}

// Every redirect hop is held to the rules of the first URL.
func TestRedirectHops(t *testing.T) {
	var hits int
	target := serve(t, func(w http.ResponseWriter, r *http.Request) { hits++; ok(w, r) })
	redirect := func(to string) *httptest.Server {
		return serve(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) })
	}
	c := NewClient(Options{AllowPrivate: true, Timeout: 5 * time.Second})
	// Plain http to a host that is not loopback: refused before dialling.
	start := time.Now()
	if err := get(c, redirect("http://203.0.113.7/metadata").URL); !errors.Is(err, ErrRefused) {
		t.Errorf("redirect to plain http off loopback: %v, want ErrRefused", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the refused hop was dialled (took %s)", time.Since(start))
	}
	if err := get(c, redirect("gopher://127.0.0.1/").URL); !errors.Is(err, ErrRefused) {
		t.Errorf("redirect to another scheme: %v, want ErrRefused", err)
	}
	// https to http is a downgrade, even to loopback.
	tlsTS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	t.Cleanup(tlsTS.Close)
	pool := x509.NewCertPool()
	pool.AddCert(tlsTS.Certificate())
	tc := NewClient(Options{AllowPrivate: true, TLSConfig: &tls.Config{RootCAs: pool}})
	if err := get(tc, tlsTS.URL); !errors.Is(err, ErrRefused) {
		t.Errorf("redirect from https to http: %v, want ErrRefused", err)
	}
	if hits != 0 {
		t.Errorf("a refused hop reached its target %d times", hits)
	}
	// A redirect that keeps to the rules is followed.
	if err := get(c, redirect(target.URL).URL); err != nil || hits != 1 {
		t.Errorf("allowed redirect: %v, hits %d", err, hits)
	}
	// So are a few, not many.
	var loop *httptest.Server
	loop = serve(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, loop.URL, http.StatusFound) })
	if err := get(c, loop.URL); !errors.Is(err, ErrRefused) {
		t.Errorf("redirect loop: %v, want ErrRefused", err)
	}
}

// The first URL is checked by the client itself.
func TestFirstURLChecked(t *testing.T) {
	if err := get(NewClient(Options{AllowPrivate: true}), "http://203.0.113.7/"); !errors.Is(err, ErrRefused) {
		t.Errorf("plain http off loopback: %v, want ErrRefused", err)
	}
}
