package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSessionRequest is the cost sign-in adds to every browser
// request: cookie -> session lookup, administrator, geofence settings,
// CSRF-free GET (SQLite).
func BenchmarkSessionRequest(b *testing.B) {
	f := newAuthFixture(b)
	admin := f.addAdmin("bench@example.com", "cloud_admin", testPassword)
	w := f.from("192.0.2.1", "POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}, &http.Cookie{Name: "x", Value: "y"})
	c := sessionCookieOf(b, w)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/auth/session", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkPasswordLogin is one password sign-in without MFA: argon2id
// verification, checks, session creation, last-login and audit writes.
func BenchmarkPasswordLogin(b *testing.B) {
	f := newAuthFixture(b)
	admin := f.addAdmin("bench@example.com", "cloud_admin", testPassword)
	body := `{"email":"` + admin.Email + `","password":"` + testPassword + `"}`
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := httptest.NewRequest("POST", "/auth/login", strings.NewReader(body))
		req.RemoteAddr = "10.0." + strconv.Itoa(i/250%250) + "." + strconv.Itoa(i%250) + ":1" // stay under the per-address limit
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
