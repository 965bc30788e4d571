package compose_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// The configured outbox (SQLite in the data directory) relays a committed
// event into the App's embedded broker; dedup is on for the broker.
func TestOutboxFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Events.Iggy.Embedded.DataDir = filepath.Join(dir, "iggy")
	cfg.Events.Iggy.Embedded.TCPPort = 0
	cfg.Events.Iggy.Embedded.HTTPPort = 0
	cfg.Events.Outbox.Enabled = true
	cfg.Events.Outbox.DSN = config.Secret(filepath.Join(dir, "db", "outbox.db"))
	cfg.Events.Outbox.PollInterval = 5 * time.Millisecond
	cfg.Events.Outbox.MaxPendingAge = time.Nanosecond
	if d := compose.EmbeddedConfig(cfg).DedupWindow; d != 10*time.Minute {
		t.Fatalf("embedded dedup window %s, want 10m with the outbox enabled", d)
	}
	ctx := context.Background()
	app, err := compose.New(ctx, cfg, nil, compose.WithoutTCPListener(), compose.WithHTTPAddr(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(ctx)
	ob, err := compose.OpenOutbox(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Shutdown(ctx)

	e := core.NewEnvelope(uuid.New(), "order.created", core.Event{Type: "OrderCreated"})
	tx, err := ob.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Outbox.Write(ctx, tx, e); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if h := ob.Health(ctx); len(h) == 0 {
		t.Error("health has no reason with an event pending past max_pending_age")
	}
	got := make(chan struct{})
	sub, err := app.Transport().Subscribe(ctx, "g", func(ctx context.Context, d transport.Delivery) error {
		if d.Envelope.ID == e.ID {
			close(got)
		}
		return nil
	}, transport.SubscribeOptions{StartFrom: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctx)
	if _, err := ob.StartRelay(ctx, app.Transport()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(time.Minute):
		t.Fatal("the relayed event did not arrive")
	}
}
