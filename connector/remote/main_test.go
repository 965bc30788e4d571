package remote

import (
	"io"
	"log"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The SDK logs every login's cluster check to the standard library's
	// global logger; keep test output readable (IGGY_SDK_LOG=1 shows it).
	if os.Getenv("IGGY_SDK_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	goleak.VerifyTestMain(m)
}
