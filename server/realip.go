package server

import (
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
func (s *Server) realIP(next http.Handler) http.Handler {
	if len(s.trustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := s.forwardedFor(r); ok {
			r2 := new(http.Request)
			*r2 = *r
			r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedFor returns the client address of a request relayed by a
// trusted proxy, and false when the request did not come through one.
func (s *Server) forwardedFor(r *http.Request) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trusted(peer.Addr()) {
		return netip.Addr{}, false
	}
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
