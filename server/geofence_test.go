package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/signin"
)

// from sends a request from ip with the fixture's token unless a
// cookie is given.
func (f *authFixture) from(ip, method, path string, body any, cookie *http.Cookie, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.RemoteAddr = net.JoinHostPort(ip, "40000")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	} else {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w
}

func sessionCookieOf(tb testing.TB, w *httptest.ResponseRecorder) *http.Cookie {
	tb.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c
		}
	}
	tb.Fatalf("no session cookie in %d %s", w.Code, w.Body)
	return nil
}

func TestGeofence(t *testing.T) {
	f := newAuthFixture(t)
	const office, home = "192.0.2.10", "203.0.113.5"
	ops := f.addAdmin("ops@example.com", "cloud_admin", testPassword)

	// Invalid entries, and a fence that would shut the caller out.
	w := f.from(office, "PUT", "/api/v1/account/geofence", map[string]any{"enabled": true, "allowed": []string{"10.0.0.9-10.0.0.1", "nope"}}, nil)
	if w.Code != http.StatusUnprocessableEntity || len(errorOf(t, w).Fields) != 2 {
		t.Errorf("invalid entries: %d %s", w.Code, w.Body)
	}
	w = f.from(office, "PUT", "/api/v1/account/geofence", map[string]any{"enabled": true, "allowed": []string{"10.0.0.0/8"}}, nil)
	if w.Code != http.StatusUnprocessableEntity {
		t.Errorf("self lock-out: %d %s", w.Code, w.Body)
	}
	f.engine.denyRight("account.geofencing.manage", "not a platform administrator")
	w = f.from(office, "PUT", "/api/v1/account/geofence", map[string]any{"enabled": true, "allowed": []string{"192.0.2.0/24"}}, nil)
	if w.Code != http.StatusForbidden {
		t.Errorf("without the right: %d %s", w.Code, w.Body)
	}
	f.engine.mu.Lock()
	delete(f.engine.deny, "account.geofencing.manage")
	f.engine.mu.Unlock()
	st, _ := f.store.GetIdentitySettings(context.Background(), f.account.ID)
	if st.GeofenceEnabled {
		t.Fatal("a refused request turned the fence on")
	}

	// Sign in from the office before the fence goes up, and from home.
	login := func(ip string) *httptest.ResponseRecorder {
		return f.from(ip, "POST", "/auth/login", map[string]string{"email": ops.Email, "password": testPassword}, &http.Cookie{Name: "x", Value: "y"})
	}
	officeSession := sessionCookieOf(t, login(office))
	homeSession := sessionCookieOf(t, login(home))

	w = f.from(office, "PUT", "/api/v1/account/geofence", map[string]any{"enabled": true, "allowed": []string{"192.0.2.0/24", "198.51.100.5-198.51.100.9"}}, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("enable fence: %d %s", w.Code, w.Body)
	}
	if w := f.from(office, "GET", "/api/v1/account/geofence", nil, nil); w.Code != 200 {
		t.Errorf("get fence: %d", w.Code)
	}

	// Tokens: inside yes, outside no.
	if w := f.from(office, "GET", "/auth/session", nil, nil); w.Code != http.StatusOK {
		t.Errorf("token from inside: %d", w.Code)
	}
	if w := f.from(home, "GET", "/auth/session", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("token from outside: %d", w.Code)
	}
	// The same token as a Basic password (WebDAV clients) is fenced too.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.admin.Email+":"+testToken))
	if w := f.from(office, "GET", "/auth/session", nil, nil, "Authorization", basic); w.Code != http.StatusOK {
		t.Errorf("basic token from inside: %d %s", w.Code, w.Body)
	}
	if w := f.from(home, "GET", "/auth/session", nil, nil, "Authorization", basic); w.Code != http.StatusForbidden {
		t.Errorf("basic token from outside: %d %s", w.Code, w.Body)
	}
	// A new sign-in from outside is refused, with no session.
	w = login(home)
	if w.Code != http.StatusForbidden {
		t.Errorf("sign-in from outside: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Error("refused sign-in set a session cookie")
		}
	}
	// A session that was outside when the fence went up goes on until
	// it has been idle for 30 minutes.
	f.now = f.now.Add(20 * time.Minute)
	if w := f.from(home, "GET", "/auth/session", nil, homeSession); w.Code != http.StatusOK {
		t.Errorf("existing outside session: %d %s", w.Code, w.Body)
	}
	// An office session moving off the network keeps access 10 minutes.
	if w := f.from(home, "GET", "/auth/session", nil, officeSession); w.Code != http.StatusOK {
		t.Fatalf("office session from home, at once: %d %s", w.Code, w.Body)
	}
	f.now = f.now.Add(9 * time.Minute)
	if w := f.from(home, "GET", "/auth/session", nil, officeSession); w.Code != http.StatusOK {
		t.Errorf("office session from home after 9 minutes: %d", w.Code)
	}
	f.now = f.now.Add(time.Minute)
	if w := f.from(home, "GET", "/auth/session", nil, officeSession); w.Code != http.StatusForbidden {
		t.Errorf("office session from home after 10 minutes: %d", w.Code)
	}
	// Back in the office, it works again and the grace starts over.
	if w := f.from(office, "GET", "/auth/session", nil, officeSession); w.Code != http.StatusOK {
		t.Errorf("office session back in the office: %d", w.Code)
	}
	if w := f.from(home, "GET", "/auth/session", nil, officeSession); w.Code != http.StatusOK {
		t.Errorf("office session from home again: %d", w.Code)
	}
}

// A password change from outside the fence, inside the grace, is refused
// and changes nothing: it would start a new session there, and a session
// started outside would count as older than the fence and outlive the
// grace.
func TestPasswordChangeOutsideFenceRefused(t *testing.T) {
	f := newAuthFixture(t)
	const office, home = "192.0.2.10", "203.0.113.5"
	ops := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	if w := f.from(office, "PUT", "/api/v1/account/geofence", map[string]any{"enabled": true, "allowed": []string{"192.0.2.0/24"}}, nil); w.Code != http.StatusOK {
		t.Fatalf("fence: %d %s", w.Code, w.Body)
	}
	c := sessionCookieOf(t, f.from(office, "POST", "/auth/login", map[string]string{"email": ops.Email, "password": testPassword}, &http.Cookie{Name: "x", Value: "y"}))
	w := f.from(home, "GET", "/auth/session", nil, c)
	if w.Code != http.StatusOK {
		t.Fatalf("session from home inside the grace: %d", w.Code)
	}
	var si signin.Info
	decode(t, w, &si)
	w = f.from(home, "POST", "/auth/password", map[string]string{"current": testPassword, "new": "Another-Secret-7", "repeat": "Another-Secret-7"}, c, "X-CSRF-Token", si.CSRFToken)
	if w.Code != http.StatusForbidden {
		t.Fatalf("password change from outside the fence: %d %s", w.Code, w.Body)
	}
	if w := f.from(office, "POST", "/auth/login", map[string]string{"email": ops.Email, "password": testPassword}, &http.Cookie{Name: "x", Value: "y"}); w.Code != http.StatusOK {
		t.Errorf("the old password no longer works after the refused change: %d %s", w.Code, w.Body)
	}
	// The grace still ends the old session.
	f.now = f.now.Add(idp.FenceGrace + time.Minute)
	if w := f.from(home, "GET", "/auth/session", nil, c); w.Code == http.StatusOK {
		t.Errorf("session from home after the grace: %d", w.Code)
	}
}
