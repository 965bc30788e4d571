package outbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Relays start goroutines; none may outlive Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
