package iggywm_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Subscriptions start goroutines; none may outlive its Subscriber's Close.
//
// The suite's own multiplier (watermill/internal/subscriber, used to run
// several subscribers behind one channel) forwards each subscriber's
// messages with a goroutine that has no way out once the test stops
// reading: after the reader has what it wanted, a forwarder holding one
// more message (a duplicate, or a message of another subscriber) blocks
// forever. TestReconnect collects the published messages with a goroutine
// ranging over a channel it never closes. Those functions are ignored; our
// goroutines are not.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/ThreeDotsLabs/watermill/internal/subscriber.(*multiplier).Subscribe.func2"),
		goleak.IgnoreAnyFunction("github.com/ThreeDotsLabs/watermill/internal/subscriber.(*multiplier).Subscribe.func3"),
		goleak.IgnoreTopFunction("github.com/ThreeDotsLabs/watermill/pubsub/tests.TestReconnect.func2"),
	)
}
