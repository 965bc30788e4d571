package connectortest_test

import (
	"testing"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
)

// A connector's conformance test, here for the in-memory broker of
// core/coretest: every subtest gets a connection of its own to one shared
// broker, and Features states what this broker does beyond the remote
// connector's baseline (compiled, not run: Run needs the *testing.T of a
// test; connector/connectortest/coretest_test.go runs exactly this).
func ExampleRun() {
	_ = func(t *testing.T) {
		shared := coretest.New(coretest.Options{LongPoll: true})
		connectortest.Run(t, func(t *testing.T) core.Broker {
			b := shared.Connect()
			t.Cleanup(func() { _ = b.Close() })
			return b
		}, connectortest.Features{
			NotMemberOnUnownedPartition: true,
			SharedBroker:                true,
			LongPoll:                    true,
		})
	}
}
