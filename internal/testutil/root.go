package testutil

import (
	"os"
	"testing"
)

// RequireRoot skips (or fails, see RequireE2EEnv) a test that needs root, such as one that
// creates network namespaces.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(tb, "this test must run as root (it creates network namespaces)")
	}
}
