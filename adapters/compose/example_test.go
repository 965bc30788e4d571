package compose_test

import (
	"context"
	"fmt"
	"os"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

func ExampleNew() {
	dir, _ := os.MkdirTemp("", "compose-example")
	defer os.RemoveAll(dir)
	cfg := config.Default() // usually config.Load("events.yaml") or config.LoadFromEnv()
	cfg.Events.Iggy.Embedded.DataDir = dir
	cfg.Events.Iggy.Embedded.TCPPort = 0  // Iggy TCP listener on a free port
	cfg.Events.Iggy.Embedded.HTTPPort = 0 // no /health, /metrics listener

	ctx := context.Background()
	app, err := compose.New(ctx, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := app.Start(ctx); err != nil { // open the broker, ensure the topology
		fmt.Println(err)
		return
	}
	defer app.Shutdown(ctx)

	tr := app.Transport()
	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	ev := core.NewEnvelope(tenant, "node.created", core.Event{Type: "NodeCreated", Data: []byte(`{"title":"hello"}`)})
	fmt.Println("publish:", tr.Publish(ctx, ev))
	res, err := tr.Replay(ctx, transport.ReplayRequest{Tenants: []uuid.UUID{tenant}}, func(_ context.Context, d transport.Delivery) error {
		fmt.Println("replayed:", d.Envelope.EventType, string(d.Envelope.Event.Data))
		return nil
	})
	fmt.Println(res.Delivered, err)
	fmt.Println("health:", app.Health().Check(ctx).Status)
	// Output:
	// publish: <nil>
	// replayed: node.created {"title":"hello"}
	// 1 <nil>
	// health: healthy
}
