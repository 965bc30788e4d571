package transport_test

import (
	"github.com/rustok/rustok-iggy/core/coretest"
	"github.com/rustok/rustok-iggy/transport"
)

// fakeBroker is the workspace's in-memory stream port, core/coretest.
type fakeBroker = coretest.Broker

var _ transport.Reconnecting = (*fakeBroker)(nil)

// newFakeBroker returns a fresh in-memory broker whose joins rebalance the
// group fully (partition i to member i mod n), so the transport is tested
// against a broker without Iggy 0.8.0's cooperative hand-over as well;
// TestScenariosCooperative uses coretest's default, Iggy's.
func newFakeBroker() *fakeBroker { return coretest.New(coretest.Options{FullRebalance: true}) }
