package saml_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestXMLDSigIsPinned guards CVE-2026-33487 (GHSA-479m-364c-43vc): the
// goxmldsig that crewjam/saml v0.5.1 asks for (v1.4.0) lets a wrapped
// signature through; go.mod must require v1.6.0 or later (minimal version
// selection then links at least that).
func TestXMLDSigIsPinned(t *testing.T) {
	raw, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "github.com/russellhaering/goxmldsig" {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(f[1], "v"), ".", 3)
		major, err1 := strconv.Atoi(parts[0])
		minor, err2 := 0, error(nil)
		if len(parts) > 1 {
			minor, err2 = strconv.Atoi(parts[1])
		}
		if err1 != nil || err2 != nil || major < 1 || (major == 1 && minor < 6) {
			t.Fatalf("go.mod requires goxmldsig %s; CVE-2026-33487 is fixed in v1.6.0", f[1])
		}
		return
	}
	t.Fatal("go.mod does not pin github.com/russellhaering/goxmldsig")
}
