package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
)

// outbox status shows a committed event pending; outbox relay delivers it
// and stops on cancellation; status then shows nothing pending.
func TestOutboxCommands(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "outbox.db")
	cfgPath := writeTestConfig(t, filepath.Join(dir, "iggy"))
	doc, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, []byte("  outbox:\n    driver: sqlite\n    dsn: "+dbPath+"\n    poll_interval: 5ms\n")...)
	if err := os.WriteFile(cfgPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := outbox.OpenSQLite(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := outbox.New(outbox.Config{Dialect: outbox.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := ob.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(ctx, tx, core.NewEnvelope(uuid.New(), "order.created", core.Event{Type: "OrderCreated"})); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	out, _, err := runCLI(t, "", "--config", cfgPath, "outbox", "status")
	if err != nil || !strings.Contains(out, "pending:        1") || !strings.Contains(out, "relay:          none running") || !strings.Contains(out, "dead-lettered:  0") {
		t.Fatalf("status before relay: %v\n%s", err, out)
	}

	root := newTestRoot()
	var rout, rerr bytes.Buffer
	root.SetOut(&rout)
	root.SetErr(&rerr)
	root.SetArgs([]string{"--config", cfgPath, "outbox", "relay"})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(rctx) }()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := ob.Stats(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay did not deliver within a minute: %s", rerr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("relay: %v\n%s", err, rerr.String())
	}
	out, _, err = runCLI(t, "", "--config", cfgPath, "outbox", "status", "--json")
	if err != nil || !strings.Contains(out, `"pending": 0`) {
		t.Fatalf("status after relay: %v\n%s", err, out)
	}
}
