package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Stats is the state of an outbox table, as `rustok-iggy outbox status`
// prints it.
type Stats struct {
	// Pending counts rows not yet delivered (and not dead).
	Pending int64
	// OldestPending is the age of the oldest pending row; 0 when none.
	OldestPending time.Duration
	// Dead counts rows the relay gave up on (see RelayConfig.MaxAttempts)
	// that are only marked dead: no DeadLetterer was configured. They stay
	// until deleted by hand; last_error says why.
	Dead int64
	// DeadLettered counts rows the relay gave up on and stored in the DLQ
	// (RelayConfig.DeadLetter), still in the table (they are deleted with
	// the delivered rows after the retention period).
	DeadLettered int64
	// DeliveredLastMinute counts rows marked delivered in the last minute
	// (divide by 60 for a rate), dead-lettered ones excluded.
	DeliveredLastMinute int64
	// Relays lists the relay sessions connected (PostgreSQL only), the
	// active one (lock holder) first.
	Relays []RelaySession
}

// RelaySession is one relay connected to PostgreSQL.
type RelaySession struct {
	// Name is the relay's application_name without RelayAppName.
	Name string
	// PID is the server process id of its session.
	PID int32
	// Client is the client address ("" on a Unix socket).
	Client string
	// Active is true for the session holding the relay lock.
	Active bool
	// Since is when the session started.
	Since time.Time
}

// Stats reads the table's counters. db is a database/sql handle to the
// outbox's database (for PostgreSQL e.g. pgx's stdlib driver "pgx").
func (o *Outbox) Stats(ctx context.Context, db *sql.DB) (Stats, error) {
	var s Stats
	if o.dialect == Postgres {
		var oldest sql.NullFloat64
		err := db.QueryRowContext(ctx, `SELECT
	count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL),
	EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL))::float8,
	count(*) FILTER (WHERE dead_at IS NOT NULL AND delivered_at IS NULL),
	count(*) FILTER (WHERE dead_at IS NOT NULL AND delivered_at IS NOT NULL),
	count(*) FILTER (WHERE delivered_at > now() - interval '1 minute' AND dead_at IS NULL)
FROM `+o.table).Scan(&s.Pending, &oldest, &s.Dead, &s.DeadLettered, &s.DeliveredLastMinute)
		if err != nil {
			return s, fmt.Errorf("outbox stats %s: %w", o.table, err)
		}
		if oldest.Valid && oldest.Float64 > 0 {
			s.OldestPending = time.Duration(oldest.Float64 * float64(time.Second))
		}
		rows, err := db.QueryContext(ctx, `SELECT a.pid, a.application_name, COALESCE(host(a.client_addr), ''), a.backend_start,
	EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
		AND l.objsubid = 1 AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) AND l.objid::bigint = ($1::bigint & 4294967295))
FROM pg_stat_activity a WHERE a.application_name LIKE $2 AND a.datname = current_database()
ORDER BY 5 DESC, a.backend_start`, o.lockKey, RelayAppName+"%")
		if err != nil {
			return s, fmt.Errorf("outbox stats %s: relays: %w", o.table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var r RelaySession
			if err := rows.Scan(&r.PID, &r.Name, &r.Client, &r.Since, &r.Active); err != nil {
				return s, fmt.Errorf("outbox stats %s: relays: %w", o.table, err)
			}
			r.Name = strings.TrimSpace(strings.TrimPrefix(r.Name, RelayAppName))
			s.Relays = append(s.Relays, r)
		}
		return s, rows.Err()
	}
	now := time.Now().UnixMicro()
	var oldest sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT
	COALESCE(SUM(delivered_at IS NULL AND dead_at IS NULL), 0),
	MIN(CASE WHEN delivered_at IS NULL AND dead_at IS NULL THEN created_at END),
	COALESCE(SUM(dead_at IS NOT NULL AND delivered_at IS NULL), 0),
	COALESCE(SUM(dead_at IS NOT NULL AND delivered_at IS NOT NULL), 0),
	COALESCE(SUM(delivered_at > ? AND dead_at IS NULL), 0)
FROM `+o.table, now-time.Minute.Microseconds()).Scan(&s.Pending, &oldest, &s.Dead, &s.DeadLettered, &s.DeliveredLastMinute)
	if err != nil {
		return s, fmt.Errorf("outbox stats %s: %w", o.table, err)
	}
	if oldest.Valid && now > oldest.Int64 {
		s.OldestPending = time.Duration(now-oldest.Int64) * time.Microsecond
	}
	return s, nil
}

// Lag is how far the relay is behind: the rows not yet relayed.
type Lag struct {
	// Pending counts rows not delivered and not dead.
	Pending int64
	// OldestPending is the age of the oldest of them; 0 when none.
	OldestPending time.Duration
	// Dead counts rows given up on and only marked dead (as Stats.Dead).
	Dead int64
}

// Lag reads the pending rows' count, the oldest one's age and the dead
// rows' count. Unlike Stats it reads only those rows (through the table's
// partial indexes), so it stays cheap on a table holding many delivered
// rows; health checks and metrics use it.
func (o *Outbox) Lag(ctx context.Context, db *sql.DB) (Lag, error) {
	var l Lag
	if o.dialect == Postgres {
		var oldest sql.NullFloat64
		err := db.QueryRowContext(ctx, `SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))::float8,
	(SELECT count(*) FROM `+o.table+` WHERE dead_at IS NOT NULL AND delivered_at IS NULL)
FROM `+o.table+` WHERE delivered_at IS NULL AND dead_at IS NULL`).Scan(&l.Pending, &oldest, &l.Dead)
		if err != nil {
			return l, fmt.Errorf("outbox lag %s: %w", o.table, err)
		}
		if oldest.Valid && oldest.Float64 > 0 {
			l.OldestPending = time.Duration(oldest.Float64 * float64(time.Second))
		}
		return l, nil
	}
	var oldest sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT count(*), min(created_at),
	(SELECT count(*) FROM `+o.table+` WHERE dead_at IS NOT NULL AND delivered_at IS NULL)
FROM `+o.table+` WHERE delivered_at IS NULL AND dead_at IS NULL`).Scan(&l.Pending, &oldest, &l.Dead)
	if err != nil {
		return l, fmt.Errorf("outbox lag %s: %w", o.table, err)
	}
	if now := time.Now().UnixMicro(); oldest.Valid && now > oldest.Int64 {
		l.OldestPending = time.Duration(now-oldest.Int64) * time.Microsecond
	}
	return l, nil
}

// SQLiteRelayActive reports whether some relay holds the SQLite relay lock
// file at lockPath (by trying to take it; a missing file means no relay).
func SQLiteRelayActive(lockPath string) (bool, error) {
	f, ok, err := lockFile(lockPath)
	if err != nil {
		return false, err
	}
	if ok {
		unlockFile(f)
	}
	return !ok, nil
}
