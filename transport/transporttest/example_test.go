package transporttest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// The helpers scenarios are written with: events numbered by Event, read
// back with Seq, encoded by JSONCodec, here published through a transport
// over the in-memory broker of core/coretest and replayed in order.
func Example() {
	ctx := context.Background()
	tr, err := transport.New(transport.Config{}, coretest.New(coretest.Options{}), transporttest.JSONCodec{}, nil)
	if err != nil {
		panic(err)
	}
	if err := tr.Start(ctx); err != nil {
		panic(err)
	}
	defer tr.Shutdown(ctx)

	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	for i := range 3 {
		if err := tr.Publish(ctx, transporttest.Event(tenant, "node.updated", i)); err != nil {
			panic(err)
		}
	}
	res, err := tr.Replay(ctx, transport.ReplayRequest{Tenants: []uuid.UUID{tenant}}, func(_ context.Context, d transport.Delivery) error {
		fmt.Println(d.Envelope.EventType, "seq", transporttest.Seq(d.Envelope))
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("delivered:", res.Delivered)
	// Output:
	// node.updated seq 0
	// node.updated seq 1
	// node.updated seq 2
	// delivered: 3
}

// A connector's test runs every scenario with a Harness; Down and Up let
// the health scenario take the broker away (compiled, not run: Run needs
// the *testing.T of a test).
func ExampleRun() {
	_ = func(t *testing.T) {
		b := coretest.New(coretest.Options{})
		transporttest.Run(t, transporttest.Harness{
			Broker:            func(testing.TB) core.Broker { return b },
			Down:              func(testing.TB, core.Broker) { b.SetDown(true) },
			Up:                func(testing.TB, core.Broker) { b.SetDown(false) },
			CooperativeGroups: true,
		})
	}
}
