package server

import (
	"io"
	"log"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The Iggy Go SDK logs every login's cluster-metadata check through the
	// standard library logger; keep test output readable.
	if os.Getenv("IGGY_TEST_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	goleak.VerifyTestMain(m)
}
