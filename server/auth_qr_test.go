package server

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

// TestMFAEnrollQR: the enrolment's QR code is for a session that owes
// enrolment only, is a 256 px PNG, and encodes the otpauth address of the
// very seed GET /auth/mfa/enroll gives; the enrolment page shows it.
func TestMFAEnrollQR(t *testing.T) {
	f := newAuthFixture(t)
	f.setPassword(f.admin, testPassword)
	b := f.browser()
	if a := b.do("GET", "/auth/mfa/enroll/qr", nil); a.status != http.StatusUnauthorized {
		t.Errorf("QR code without a session: %d, want 401", a.status)
	}
	nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	a := b.do("GET", "/auth/mfa/enroll/qr", nil)
	wantStatus(t, "QR code", a, http.StatusOK)
	img, err := png.Decode(strings.NewReader(a.body))
	if err != nil || a.header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 256 {
		t.Fatalf("QR code: %v, %s, %v", err, a.header.Get("Content-Type"), img)
	}
	var e signin.Enrollment
	b.do("GET", "/auth/mfa/enroll", nil).json(t, &e)
	want, err := qrcode.Encode(e.URL, qrcode.Medium, 256)
	if err != nil || !bytes.Equal(want, []byte(a.body)) || !strings.Contains(e.URL, e.Secret) {
		t.Errorf("the QR code is not the enrolment's otpauth address %s", e.URL)
	}
	page := b.do("GET", "/login?step=mfa_enroll", nil)
	if !strings.Contains(page.body, `src="/auth/mfa/enroll/qr"`) || !strings.Contains(page.body, `href="/console/auth.css"`) ||
		strings.Contains(page.header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("the enrolment page lacks the QR code or the style sheet, or allows inline code: %s", page.header.Get("Content-Security-Policy"))
	}
}
