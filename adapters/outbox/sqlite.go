package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rustok/rustok-iggy/core"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, without cgo
)

// OpenSQLite opens (creating it if needed) the SQLite database file at
// path with modernc.org/sqlite, in WAL mode with a 10 s busy timeout and
// foreign keys on, for the outbox and the inbox.
func OpenSQLite(path string) (*sql.DB, error) {
	if strings.TrimSpace(path) == "" {
		return nil, fmt.Errorf("%w: outbox: empty sqlite path", core.ErrInvalid)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("outbox: open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(context.Background()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("outbox: open sqlite %s: %w", path, err)
	}
	return db, nil
}

// NewSQLiteRelay returns a relay for o (dialect SQLite) reading db and
// publishing through pub. lockPath is the relay lock file (created if
// needed; conventionally the database path + "-relay.lock"): a relay is
// active while it holds an exclusive lock on it, so one relay per database
// file is active, across processes; the lock ends with the process.
func NewSQLiteRelay(o *Outbox, db *sql.DB, lockPath string, pub core.EventTransport, cfg RelayConfig) (*Relay, error) {
	if o != nil && o.dialect != SQLite {
		return nil, fmt.Errorf("%w: outbox: NewSQLiteRelay needs dialect sqlite, have %s", core.ErrInvalid, o.dialect)
	}
	if db == nil || lockPath == "" {
		return nil, fmt.Errorf("%w: outbox relay: nil database or empty lock path", core.ErrInvalid)
	}
	r, err := newRelay(o, nil, pub, cfg)
	if err != nil {
		return nil, err
	}
	r.st = &sqliteStore{o: o, db: db, lockPath: lockPath}
	return r, nil
}

type sqliteStore struct {
	o        *Outbox
	db       *sql.DB
	lockPath string
	lock     *os.File // held lock file, nil if none
}

func (s *sqliteStore) open(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *sqliteStore) tryLock(ctx context.Context) (bool, error) {
	if s.lock != nil {
		return true, nil
	}
	f, ok, err := lockFile(s.lockPath)
	if err != nil || !ok {
		return false, err
	}
	s.lock = f
	return true, nil
}

func (s *sqliteStore) fetch(ctx context.Context, n int) ([]pending, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+rowColumns+` FROM `+s.o.table+
		` WHERE delivered_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanPending(rows, n)
}

func (s *sqliteStore) markDelivered(ctx context.Context, seqs []int64) error {
	now := time.Now().UnixMicro()
	for len(seqs) > 0 {
		n := min(len(seqs), 5000)
		var b strings.Builder
		b.WriteString(`UPDATE ` + s.o.table + ` SET delivered_at = ? WHERE seq IN (`)
		args := make([]any, 0, n+1)
		args = append(args, now)
		for i, q := range seqs[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
			args = append(args, q)
		}
		b.WriteByte(')')
		if _, err := s.db.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		seqs = seqs[n:]
	}
	return nil
}

func (s *sqliteStore) markDead(ctx context.Context, seq int64, reason string, deadLettered bool) error {
	q := `UPDATE ` + s.o.table + ` SET dead_at = ?1, last_error = ?2 WHERE seq = ?3`
	if deadLettered {
		q = `UPDATE ` + s.o.table + ` SET dead_at = ?1, delivered_at = ?1, last_error = ?2 WHERE seq = ?3`
	}
	_, err := s.db.ExecContext(ctx, q, time.Now().UnixMicro(), reason, seq)
	return err
}

func (s *sqliteStore) prune(ctx context.Context, retention time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM `+s.o.table+` WHERE delivered_at < ?`, time.Now().Add(-retention).UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *sqliteStore) wait(ctx context.Context, d time.Duration) error {
	sleep(ctx, d)
	return nil
}

func (s *sqliteStore) close() {
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock = nil
	}
}
