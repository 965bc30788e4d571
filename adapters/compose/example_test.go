package compose_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

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

// With events.outbox.enabled the App runs the relay from Start to
// Shutdown: an event committed with the application's own rows reaches the
// broker; a rolled-back one does not.
func ExampleApp_Outbox() {
	dir, _ := os.MkdirTemp("", "compose-outbox-example")
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Events.Iggy.Embedded.DataDir = filepath.Join(dir, "iggy")
	cfg.Events.Iggy.Embedded.TCPPort = 0
	cfg.Events.Iggy.Embedded.HTTPPort = 0
	cfg.Events.Outbox.Enabled = true
	cfg.Events.Outbox.DSN = config.Secret(filepath.Join(dir, "app.db")) // SQLite; or driver: postgres
	cfg.Events.Outbox.PollInterval = 10 * time.Millisecond

	ctx := context.Background()
	app, err := compose.New(ctx, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := app.Start(ctx); err != nil { // broker, topology, outbox database, relay
		fmt.Println(err)
		return
	}
	defer app.Shutdown(ctx) // stops the relay first, draining it

	db, w := app.Outbox().DB, app.OutboxWriter()
	if _, err := db.ExecContext(ctx, `CREATE TABLE orders (id TEXT)`); err != nil {
		fmt.Println(err)
		return
	}
	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	for _, commit := range []bool{true, false} {
		tx, _ := db.BeginTx(ctx, nil)
		_, _ = tx.ExecContext(ctx, `INSERT INTO orders (id) VALUES (?)`, uuid.NewString())
		ev := core.NewEnvelope(tenant, "order.created", core.Event{Type: "OrderCreated", Data: []byte(fmt.Sprintf(`{"committed":%v}`, commit))})
		if err := w.Write(ctx, tx, ev); err != nil {
			fmt.Println(err)
			return
		}
		if commit {
			_ = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	got := make(chan string, 1)
	sub, _ := app.Transport().Subscribe(ctx, "billing", func(_ context.Context, d transport.Delivery) error {
		got <- string(d.Envelope.Event.Data)
		return nil
	}, transport.SubscribeOptions{StartFrom: "earliest"})
	defer sub.Stop(ctx)
	fmt.Println("delivered:", <-got)
	// Output:
	// delivered: {"committed":true}
}
