package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRealIP(t *testing.T) {
	s := &Server{trustedProxies: maskedPrefixes([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::1/128")})}
	var seen string
	h := s.realIP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = clientIP(r).String() }))
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client, header ignored", "198.51.100.7:5000", []string{"192.0.2.1"}, "198.51.100.7"},
		{"through the proxy", "10.1.2.3:5000", []string{"192.0.2.1"}, "192.0.2.1"},
		{"client-written hops left of the real one are not believed", "10.1.2.3:5000", []string{"203.0.113.66, 192.0.2.1"}, "192.0.2.1"},
		{"several trusted hops", "10.1.2.3:5000", []string{"192.0.2.1, 10.9.9.9"}, "192.0.2.1"},
		{"header split over lines", "10.1.2.3:5000", []string{"203.0.113.66", "192.0.2.1"}, "192.0.2.1"},
		{"IPv6 proxy", "[fd00::1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"proxy without the header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"garbled chain keeps the proxy", "10.1.2.3:5000", []string{"192.0.2.1, not-an-ip"}, "10.1.2.3"},
		{"only trusted hops keep the proxy", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if seen != tt.want {
				t.Errorf("client = %s, want %s", seen, tt.want)
			}
		})
	}
	// Without trusted proxies the header changes nothing.
	none := (&Server{}).realIP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = clientIP(r).String() }))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	none.ServeHTTP(httptest.NewRecorder(), r)
	if seen != "10.1.2.3" {
		t.Errorf("no trusted proxies: client = %s", seen)
	}
}

// TestForwardedProto: X-Forwarded-Proto makes the base URL https only when
// a trusted proxy sent it.
func TestForwardedProto(t *testing.T) {
	proxied := &Server{trustedProxies: maskedPrefixes([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})}
	tests := []struct {
		name   string
		s      *Server
		remote string
		proto  string
		want   string
	}{
		{"trusted proxy says https", proxied, "10.1.2.3:5000", "https", "https://holdfast.test"},
		{"trusted proxy says http", proxied, "10.1.2.3:5000", "http", "http://holdfast.test"},
		{"trusted proxy, no header", proxied, "10.1.2.3:5000", "", "http://holdfast.test"},
		{"other peer says https", proxied, "198.51.100.7:5000", "https", "http://holdfast.test"},
		{"no trusted proxies at all", &Server{}, "10.1.2.3:5000", "https", "http://holdfast.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := tt.s.realIP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = tt.s.baseURL(r) }))
			r := httptest.NewRequest("GET", "http://holdfast.test/", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("base URL = %s, want %s", got, tt.want)
			}
		})
	}
}
