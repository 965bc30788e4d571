package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rustok/rustok-iggy/core"
)

// RelayAppName prefixes the PostgreSQL application_name of relay sessions;
// Stats lists the sessions by it.
const RelayAppName = "rustok-outbox-relay"

// NewPostgresRelay returns a relay for o (dialect Postgres) that connects
// with dsn (a pgx connection string; "${ENV}" expansion is the caller's)
// and publishes through pub. It holds one dedicated connection: the
// session advisory lock that makes it the active relay, LISTEN on
// o.Channel(), and its reads and marks all use it, so a relay whose
// connection breaks stops publishing and another takes over.
func NewPostgresRelay(o *Outbox, dsn string, pub core.EventTransport, cfg RelayConfig) (*Relay, error) {
	if o != nil && o.dialect != Postgres {
		return nil, fmt.Errorf("%w: outbox: NewPostgresRelay needs dialect postgres, have %s", core.ErrInvalid, o.dialect)
	}
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: outbox relay: dsn: %v", core.ErrInvalid, err)
	}
	name := cfg.Name
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	pcfg.RuntimeParams["application_name"] = RelayAppName + " " + name
	r, err := newRelay(o, nil, pub, cfg)
	if err != nil {
		return nil, err
	}
	r.st = &pgStore{o: o, cfg: pcfg}
	return r, nil
}

type pgStore struct {
	o    *Outbox
	cfg  *pgx.ConnConfig
	conn *pgx.Conn // nil when closed
}

func (s *pgStore) open(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

func (s *pgStore) tryLock(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, s.o.lockKey).Scan(&ok); err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	if _, err := s.conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.o.channel}.Sanitize()); err != nil {
		return false, err
	}
	return true, nil
}

func (s *pgStore) fetch(ctx context.Context, n int) ([]pending, error) {
	rows, err := s.conn.Query(ctx, `SELECT seq, event_id::text, tenant_id::text, content_type, payload, event_type, schema_version, correlation_id::text, causation_id::text, trace_id FROM `+s.o.table+
		` WHERE delivered_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanPending(rows, n)
}

func (s *pgStore) markDelivered(ctx context.Context, seqs []int64) error {
	_, err := s.conn.Exec(ctx, `UPDATE `+s.o.table+` SET delivered_at = now() WHERE seq = ANY($1)`, seqs)
	return err
}

func (s *pgStore) markDead(ctx context.Context, seq int64, reason string, deadLettered bool) error {
	q := `UPDATE ` + s.o.table + ` SET dead_at = now(), last_error = $2 WHERE seq = $1`
	if deadLettered {
		q = `UPDATE ` + s.o.table + ` SET dead_at = now(), delivered_at = now(), last_error = $2 WHERE seq = $1`
	}
	_, err := s.conn.Exec(ctx, q, seq, reason)
	return err
}

func (s *pgStore) prune(ctx context.Context, retention time.Duration) (int64, error) {
	tag, err := s.conn.Exec(ctx, `DELETE FROM `+s.o.table+` WHERE delivered_at < now() - $1::float8 * interval '1 microsecond'`,
		float64(retention.Microseconds()))
	return tag.RowsAffected(), err
}

func (s *pgStore) wait(ctx context.Context, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := s.conn.WaitForNotification(wctx)
	if err != nil && wctx.Err() != nil && !s.conn.IsClosed() {
		return nil // timed out or stopped: the connection stays usable
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !s.conn.IsClosed() {
		return nil
	}
	return err
}

func (s *pgStore) close() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.conn.Close(ctx) // ends the session: the lock is released
	s.conn = nil
}
