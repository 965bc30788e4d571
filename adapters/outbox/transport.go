package outbox

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rustok/rustok-iggy/core"
)

// ErrNoTx is returned by Transport's publish methods when the context
// carries no transaction (see WithTx and WithPgxTx). It wraps
// core.ErrInvalid.
var ErrNoTx = fmt.Errorf("%w: outbox: no transaction in the context (use outbox.WithTx or outbox.WithPgxTx)", core.ErrInvalid)

type txKey struct{}

type ctxTx struct {
	sql *sql.Tx
	pgx pgx.Tx
}

// WithTx returns a context carrying tx, for Transport.Publish and
// PublishBatch. The context must not outlive tx.
func WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, ctxTx{sql: tx})
}

// WithPgxTx returns a context carrying a pgx transaction, for
// Transport.Publish and PublishBatch. The context must not outlive tx.
func WithPgxTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, ctxTx{pgx: tx})
}

// Transport is the outbox behind core.EventTransport, for code written
// against the port: Publish and PublishBatch write into the transaction the
// context carries (WithTx, WithPgxTx) and fail with ErrNoTx without one.
// Safe for concurrent use (as far as the transaction in the context is).
type Transport struct {
	o *Outbox
}

var _ core.EventTransport = (*Transport)(nil)

// Transport returns the outbox as a core.EventTransport.
func (o *Outbox) Transport() *Transport { return &Transport{o: o} }

// Publish writes e into the context's transaction (Outbox.Write). When it
// returns nil the event is stored if and when that transaction commits.
func (t *Transport) Publish(ctx context.Context, e core.Envelope) error {
	return t.PublishBatch(ctx, []core.Envelope{e})
}

// PublishBatch writes events into the context's transaction. Stronger than
// the port asks: the batch is atomic (all valid and written, or none).
func (t *Transport) PublishBatch(ctx context.Context, events []core.Envelope) error {
	tx, _ := ctx.Value(txKey{}).(ctxTx)
	switch {
	case tx.sql != nil:
		return t.o.Write(ctx, tx.sql, events...)
	case tx.pgx != nil:
		return t.o.WritePgx(ctx, tx.pgx, events...)
	}
	return ErrNoTx
}

// Acknowledge returns nil at once: an event is durable when the caller's
// transaction commits, which this transport does not observe; the relay
// then delivers it at least once.
func (t *Transport) Acknowledge(ctx context.Context, id uuid.UUID) error { return nil }

// ReliabilityLevel returns core.Outbox.
func (t *Transport) ReliabilityLevel() core.ReliabilityLevel { return core.Outbox }
