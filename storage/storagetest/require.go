// Package storagetest holds the conformance suites every storage backend
// runs, and helpers for the tests of backends that need a server.
package storagetest

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RequireEnv names the environment variable listing, comma-separated, the
// backends whose tests must run: for them a missing server fails the test
// instead of skipping it. CI sets it (HOLDFAST_TEST_REQUIRE=postgres,s3).
const RequireEnv = "HOLDFAST_TEST_REQUIRE"

// Required reports whether RequireEnv lists the backend name.
func Required(name string) bool {
	return slices.ContainsFunc(strings.Split(os.Getenv(RequireEnv), ","), func(s string) bool {
		return strings.EqualFold(strings.TrimSpace(s), name)
	})
}

// SkipOrFail stops a test that cannot reach the backend name, for reason:
// it skips, unless RequireEnv lists the backend, and then it fails.
func SkipOrFail(tb testing.TB, name, reason string) {
	tb.Helper()
	if Required(name) {
		tb.Fatalf("%s: %s (required by %s)", name, reason, RequireEnv)
	}
	tb.Skipf("%s: %s (set %s=%s to make this a failure)", name, reason, RequireEnv, name)
}
