package inbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/inbox"
	"github.com/rustok/rustok-iggy/adapters/outbox"
)

// ExampleInbox_Process handles one event id twice: the handler's insert
// commits once, together with the inbox record.
func ExampleInbox_Process() {
	dir, _ := os.MkdirTemp("", "inbox-example-")
	defer os.RemoveAll(dir)
	db, err := outbox.OpenSQLite(filepath.Join(dir, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	in, _ := inbox.New(inbox.Config{Dialect: outbox.SQLite})
	if err := in.Migrate(ctx, db); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = db.Exec(`CREATE TABLE invoices (event_id TEXT)`)

	id := uuid.MustParse("0190a0a0-0000-7000-8000-000000000001")
	for range 2 {
		handled, err := in.Process(ctx, db, "billing", id, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO invoices (event_id) VALUES (?)`, id.String())
			return err
		})
		fmt.Println("handled:", handled, err)
	}
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM invoices`).Scan(&n)
	fmt.Println("invoices:", n)
	// Output:
	// handled: true <nil>
	// handled: false <nil>
	// invoices: 1
}
