package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
)

// placeOrder is application code written against the port: it neither
// knows nor cares that the transport is an outbox.
func placeOrder(ctx context.Context, tx *sql.Tx, events core.EventTransport, tenant uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (tenant) VALUES (?)`, tenant.String()); err != nil {
		return err
	}
	return events.Publish(ctx, core.NewEnvelope(tenant, "order.placed", core.Event{Type: "OrderPlaced"}))
}

// ExampleTransport publishes through core.EventTransport inside the
// application's transaction: the transaction travels in the context
// (outbox.WithTx). The committed order's event is in the outbox; the
// rolled-back one's is not.
func ExampleTransport() {
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)
	db, err := outbox.OpenSQLite(filepath.Join(dir, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	ob, _ := outbox.New(outbox.Config{Dialect: outbox.SQLite})
	if err := ob.Migrate(ctx, db); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = db.Exec(`CREATE TABLE orders (tenant TEXT)`)
	var events core.EventTransport = ob.Transport()
	fmt.Println("reliability:", events.ReliabilityLevel())

	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	for _, commit := range []bool{true, false} {
		tx, _ := db.BeginTx(ctx, nil)
		if err := placeOrder(outbox.WithTx(ctx, tx), tx, events, tenant); err != nil {
			fmt.Println(err)
		}
		if commit {
			_ = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	st, _ := ob.Stats(ctx, db)
	fmt.Println("pending:", st.Pending)
	// Output:
	// reliability: outbox
	// pending: 1
}
