package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// realIP makes r.RemoteAddr the client's address when the connection comes
// from one of Options.TrustedProxies (a load balancer in front of the
// replicas): the geofence, the sign-in rate limit, sessions and the access
// log then see the client instead of the proxy. The client is the
// rightmost X-Forwarded-For address that is not itself a trusted proxy;
// addresses left of it were written by the client and are not believed.
// Without trusted proxies, or from any other peer, the header is ignored.
// A request from a trusted proxy is marked, so that baseURL believes its
// X-Forwarded-Proto and nobody else's.
func (s *Server) realIP(next http.Handler) http.Handler {
	if len(s.trustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !s.trusted(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		ip, ok := s.forwardedFor(r)
		r = r.WithContext(context.WithValue(r.Context(), viaTrustedProxyKey{}, true))
		if ok {
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

// viaTrustedProxyKey marks a request relayed by a trusted proxy.
type viaTrustedProxyKey struct{}

// viaTrustedProxy reports whether r came through one of
// Options.TrustedProxies.
func viaTrustedProxy(r *http.Request) bool {
	v, _ := r.Context().Value(viaTrustedProxyKey{}).(bool)
	return v
}

// forwardedFor returns the client address X-Forwarded-For names for a
// request whose peer realIP has already found to be a trusted proxy, and
// false when the header names none that can be believed.
func (s *Server) forwardedFor(r *http.Request) (netip.Addr, bool) {
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // a garbled chain: keep the proxy's address
		}
		if !s.trusted(ip) {
			return ip.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range s.trustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
