package rtc

import (
	"os"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// TestMain fails the package when goroutines started by its tests outlive them.
func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m, 2, 20*time.Second)) }
