package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// RelayConfig tunes a Relay. Zero values mean the defaults.
type RelayConfig struct {
	// BatchSize is the most rows read, published and marked at once.
	// Default 1000.
	BatchSize int
	// PollInterval is how long an active relay with nothing to do waits
	// before reading again; on PostgreSQL a NOTIFY from a committed Write
	// wakes it earlier. Default 1s (PostgreSQL), 10ms (SQLite).
	PollInterval time.Duration
	// StandbyInterval is how often a standby relay tries to take the lock.
	// Default 1s.
	StandbyInterval time.Duration
	// Retention is how long delivered rows stay before they are deleted.
	// Default 24h.
	Retention time.Duration
	// PruneInterval is how often delivered rows past Retention are
	// deleted. Default 1m.
	PruneInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff (with
	// jitter) after a failed publish or a lost database connection.
	// Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is how many times the relay publishes a row that keeps
	// failing with a permanent error (not core.ErrUnavailable, not a
	// timeout: a broker that is down is waited for, however long) before
	// it gives up on it: the row is then dead-lettered (DeadLetter) or
	// marked dead, and its tenant's later rows move on. Only the oldest
	// pending row of a tenant is counted, since it blocks the others.
	// Counts are kept by the active relay (a takeover counts afresh).
	// Default 5.
	MaxAttempts int
	// DeadLetter receives the rows the relay gives up on: rows that do not
	// decode or have unusable columns (at once), rows the publisher
	// rejects as invalid (at once) and rows that failed MaxAttempts times.
	// A row is marked dead (dead_at, last_error) and, when DeadLetter
	// stored it, delivered too, so it leaves the table after Retention;
	// while DeadLetter fails, the row stays pending and is tried again.
	// Nil: rows are only marked dead and stay in the table (Stats.Dead).
	// NewBrokerDLQ appends them to the transport's dlq topic.
	DeadLetter DeadLetterer
	// Name identifies the relay in status output (PostgreSQL
	// application_name "rustok-outbox-relay <Name>"). Default: host:pid.
	Name string
	// Logger receives the relay's logs; nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem, joined.
func (c RelayConfig) Validate() error {
	var errs []error
	neg := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%w: outbox relay: %s is negative (%s)", core.ErrInvalid, name, d))
		}
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("%w: outbox relay: max attempts %d is negative", core.ErrInvalid, c.MaxAttempts))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("%w: outbox relay: batch size %d is negative", core.ErrInvalid, c.BatchSize))
	}
	neg("poll interval", c.PollInterval)
	neg("standby interval", c.StandbyInterval)
	neg("retention", c.Retention)
	neg("prune interval", c.PruneInterval)
	neg("min backoff", c.MinBackoff)
	neg("max backoff", c.MaxBackoff)
	if c.MinBackoff > 0 && c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("%w: outbox relay: min backoff %s exceeds max backoff %s", core.ErrInvalid, c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

func (c RelayConfig) withDefaults(d Dialect) RelayConfig {
	def := func(v *time.Duration, x time.Duration) {
		if *v == 0 {
			*v = x
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if d == SQLite {
		def(&c.PollInterval, 10*time.Millisecond)
	} else {
		def(&c.PollInterval, time.Second)
	}
	def(&c.StandbyInterval, time.Second)
	def(&c.Retention, 24*time.Hour)
	def(&c.PruneInterval, time.Minute)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 30*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// DefaultMaxAttempts is RelayConfig.MaxAttempts' default.
const DefaultMaxAttempts = 5

// RelayState is what a relay is doing.
type RelayState string

// Relay states.
const (
	StateStarting RelayState = "starting"
	// StateStandby: another relay holds the lock; this one waits.
	StateStandby RelayState = "standby"
	// StateActive: this relay holds the lock and publishes.
	StateActive RelayState = "active"
	// StateStopped: Close or Shutdown returned.
	StateStopped RelayState = "stopped"
)

// RelayStatus is a snapshot of a relay.
type RelayStatus struct {
	State RelayState
	// Relayed counts events this relay published and marked delivered.
	Relayed uint64
	// Dead counts rows this relay gave up on (undecodable, invalid, or
	// failed MaxAttempts times), DeadLettered those of them the
	// DeadLetter stored.
	Dead, DeadLettered uint64
	// LastRelay is when a batch was last marked delivered.
	LastRelay time.Time
	// Failures counts consecutive failures (publish or database); 0 after
	// a success.
	Failures int
	// LastError is the most recent failure ("" if none) and when.
	LastError   string
	LastErrorAt time.Time
}

// pending is one row read by the relay.
type pending struct {
	seq         int64
	id, tenant  string
	contentType string
	payload     []byte
	eventType   string
	schema      int32
	correlation string
	causation   sql.NullString
	trace       sql.NullString
}

// rowColumns is what fetch selects, in pending's Scan order.
const rowColumns = `seq, event_id, tenant_id, content_type, payload, event_type, schema_version, correlation_id, causation_id, trace_id`

func (p *pending) dest() []any {
	return []any{&p.seq, &p.id, &p.tenant, &p.contentType, &p.payload, &p.eventType, &p.schema, &p.correlation, &p.causation, &p.trace}
}

// pendingRows is what the rows of database/sql and of pgx have in common.
type pendingRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanPending reads the rows of a fetch (at most n) into pendings.
func scanPending(rows pendingRows, n int) ([]pending, error) {
	out := make([]pending, 0, n)
	for rows.Next() {
		var p pending
		if err := rows.Scan(p.dest()...); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// EncodedPublisher is the publisher capability the relay prefers, found by
// type assertion (*transport.Transport has it): the stored bytes are
// published as they are, with the row's columns as the headers, instead of
// being decoded and encoded again by PublishBatch. A row whose payload does
// not decode then reaches the consumers, which send it to the DLQ with its
// provenance; through a plain core.EventTransport the relay gives up on it
// (RelayConfig.DeadLetter).
type EncodedPublisher interface {
	PublishEncoded(ctx context.Context, events []transport.EncodedEvent) error
}

// store is the relay's database side; one per Relay, used by its goroutine
// only.
type store interface {
	// open connects (a no-op where the database handle is given).
	open(ctx context.Context) error
	// tryLock takes the relay lock without waiting.
	tryLock(ctx context.Context) (bool, error)
	// fetch returns up to n pending rows in seq order.
	fetch(ctx context.Context, n int) ([]pending, error)
	markDelivered(ctx context.Context, seqs []int64) error
	// markDead marks a row dead; deadLettered marks it delivered too
	// (it is in the DLQ).
	markDead(ctx context.Context, seq int64, reason string, deadLettered bool) error
	prune(ctx context.Context, retention time.Duration) (int64, error)
	// wait returns after d, on a notification, or when ctx ends.
	wait(ctx context.Context, d time.Duration) error
	// close drops the connection and the lock.
	close()
}

// Relay moves committed outbox rows to Iggy. Start runs it in a goroutine
// it owns; Close or Shutdown stops it. Several relays may run against one
// table (in one or several processes): one is active, the others stand by
// and take over when the active relay's database session ends.
//
// Each batch: read up to BatchSize pending rows in seq order; publish them
// through the publisher, a Streaming transport such as *transport.Transport
// (message id = event id): with PublishEncoded when it has it (the stored
// bytes as they are), else decoded by content type (a row that does not
// decode, or whose decoded id differs from its event_id, is given up on)
// with PublishBatch; mark the published rows delivered. If publishing
// fails, the failed row of a tenant and its later rows stay pending (the
// others are marked) and the relay retries with backoff while keeping the
// lock: a tenant's later events are never published before its earlier
// ones, except after a row the relay gave up on (RelayConfig.MaxAttempts,
// DeadLetter).
type Relay struct {
	o   *Outbox
	st  store
	pub core.EventTransport
	cfg RelayConfig
	log *slog.Logger

	mu     sync.Mutex
	status RelayStatus // guarded by mu

	// attempts counts failed publishes of the rows at the head of a
	// tenant; used by the relay goroutine only.
	attempts map[int64]*attempt

	startOnce sync.Once
	stopOnce  sync.Once
	stop      context.CancelFunc // ends the loop: no new batch, no waiting
	abort     context.CancelFunc // also cancels a publish in flight
	done      chan struct{}
}

// attempt is a row's failure history.
type attempt struct {
	n           int
	first, last time.Time
}

func newRelay(o *Outbox, st store, pub core.EventTransport, cfg RelayConfig) (*Relay, error) {
	if o == nil || pub == nil {
		return nil, fmt.Errorf("%w: outbox relay: nil outbox or publisher", core.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(o.dialect)
	return &Relay{
		o: o, st: st, pub: pub, cfg: cfg,
		log:      cfg.Logger.With("component", "outbox-relay", "table", o.table),
		status:   RelayStatus{State: StateStarting},
		attempts: map[int64]*attempt{},
		done:     make(chan struct{}),
	}, nil
}

// Start starts the relay's goroutine and returns at once. The goroutine
// runs until Close or Shutdown; ctx is not kept. Further calls do nothing.
func (r *Relay) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.startOnce.Do(func() {
		hard, abort := context.WithCancel(context.WithoutCancel(ctx))
		soft, stop := context.WithCancel(hard)
		r.stop, r.abort = stop, abort
		go r.run(soft, hard)
	})
	return nil
}

// Shutdown stops the relay gracefully: it takes no new batch, lets the
// publish in flight finish and marks its rows, then closes its database
// session, which releases the relay lock (a standby takes over). If ctx
// ends first, the publish in flight is cancelled (its rows stay pending
// and are published again by the next active relay, with the same message
// ids), Shutdown still waits for the goroutine to end and returns ctx's
// error. Idempotent; later calls wait the same way.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.stopOnce.Do(func() {
		r.startOnce.Do(func() { close(r.done) }) // never started
		if r.stop != nil {
			r.stop()
		}
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	if r.abort != nil {
		r.abort()
	}
	<-r.done
	return ctx.Err()
}

// Close is Shutdown without a deadline.
func (r *Relay) Close() error { return r.Shutdown(context.Background()) }

// Status returns a snapshot of the relay's state and counters.
func (r *Relay) Status() RelayStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Relay) setState(s RelayState) {
	r.mu.Lock()
	changed := r.status.State != s
	r.status.State = s
	r.mu.Unlock()
	if changed {
		r.log.LogAttrs(context.Background(), slog.LevelInfo, "relay state", slog.String("state", string(s)))
	}
}

func (r *Relay) fail(err error) int {
	r.mu.Lock()
	r.status.Failures++
	r.status.LastError = err.Error()
	r.status.LastErrorAt = time.Now()
	n := r.status.Failures
	r.mu.Unlock()
	r.log.LogAttrs(context.Background(), slog.LevelWarn, "relay failure", slog.Int("failures", n), slog.String("error", err.Error()))
	return n
}

func (r *Relay) backoff(failures int) time.Duration {
	d := r.cfg.MinBackoff
	for i := 1; i < failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// run is the relay goroutine. ctx ends on Shutdown (stop taking batches);
// hard ends when Shutdown's deadline passes (cancel the publish in flight).
func (r *Relay) run(ctx, hard context.Context) {
	defer close(r.done)
	defer r.setState(StateStopped)
	defer r.st.close()
	for ctx.Err() == nil {
		err := r.session(ctx, hard)
		r.st.close()
		if ctx.Err() != nil {
			return
		}
		n := r.fail(err)
		r.setState(StateStarting)
		sleep(ctx, r.backoff(n))
	}
}

// session connects, waits for the lock and relays until a database error.
func (r *Relay) session(ctx, hard context.Context) error {
	if err := r.st.open(ctx); err != nil {
		return fmt.Errorf("outbox relay %s: connect: %w", r.o.table, err)
	}
	for {
		ok, err := r.st.tryLock(ctx)
		if err != nil {
			return fmt.Errorf("outbox relay %s: lock: %w", r.o.table, err)
		}
		if ok {
			break
		}
		r.setState(StateStandby)
		sleep(ctx, r.cfg.StandbyInterval)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	r.setState(StateActive)
	clear(r.attempts) // another relay may have been active meanwhile
	var lastPrune time.Time
	for ctx.Err() == nil {
		if time.Since(lastPrune) >= r.cfg.PruneInterval {
			n, err := r.st.prune(ctx, r.cfg.Retention)
			if err != nil {
				return fmt.Errorf("outbox relay %s: prune: %w", r.o.table, err)
			}
			if n > 0 {
				r.log.LogAttrs(ctx, slog.LevelInfo, "pruned delivered rows", slog.Int64("rows", n))
			}
			lastPrune = time.Now()
		}
		rows, err := r.st.fetch(ctx, r.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("outbox relay %s: read: %w", r.o.table, err)
		}
		if len(rows) == 0 {
			if err := r.st.wait(ctx, r.cfg.PollInterval); err != nil && ctx.Err() == nil {
				return fmt.Errorf("outbox relay %s: wait: %w", r.o.table, err)
			}
			continue
		}
		pubErr, dbErr := r.relay(hard, rows)
		if dbErr != nil {
			return dbErr
		}
		if pubErr != nil {
			if ctx.Err() != nil || hard.Err() != nil {
				return nil
			}
			sleep(ctx, r.backoff(r.fail(pubErr)))
			continue
		}
		r.mu.Lock()
		r.status.Failures = 0
		r.mu.Unlock()
	}
	return nil
}

// relay publishes one batch and marks it. pubErr is a publish failure
// (rows left pending), dbErr a database failure (the session is over).
// ctx is the relay's hard context: a graceful stop lets this call finish.
func (r *Relay) relay(ctx context.Context, rows []pending) (pubErr, dbErr error) {
	// Marks run even when ctx ends during the publish, so a stop does not
	// republish what was stored.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	seqs := make([]int64, 0, len(rows)) // seq of the i-th published event
	tenants := make([]string, 0, len(rows))
	byIndex := make([]*pending, 0, len(rows))
	var dead []DeadRow
	now := time.Now()
	giveUp := func(p *pending, reason string, err error, a *attempt) {
		d := deadRow(r.o.table, p, reason, err)
		d.Attempts, d.FirstFailure, d.LastFailure = 1, now, now
		if a != nil {
			d.Attempts, d.FirstFailure, d.LastFailure = a.n, a.first, a.last
		}
		dead = append(dead, d)
	}
	var publish func() error
	if ep, ok := r.pub.(EncodedPublisher); ok {
		events := make([]transport.EncodedEvent, 0, len(rows))
		for i := range rows {
			p := &rows[i]
			e, err := encodedRow(p)
			if err != nil {
				giveUp(p, DLQReasonRelay, err, nil)
				continue
			}
			events = append(events, e)
			seqs = append(seqs, p.seq)
			tenants = append(tenants, p.tenant)
			byIndex = append(byIndex, p)
		}
		publish = func() error { return ep.PublishEncoded(ctx, events) }
	} else {
		events := make([]core.Envelope, 0, len(rows))
		for i := range rows {
			p := &rows[i]
			e, reason, err := decodeRow(p)
			if err != nil {
				giveUp(p, reason, err, nil)
				continue
			}
			events = append(events, e)
			seqs = append(seqs, p.seq)
			tenants = append(tenants, p.tenant)
			byIndex = append(byIndex, p)
		}
		publish = func() error { return r.pub.PublishBatch(ctx, events) }
	}
	done := seqs
	heads := map[int64]*attempt{} // failure counts that carry over
	if len(seqs) > 0 {
		if err := publish(); err != nil {
			pubErr = fmt.Errorf("outbox relay %s: publish %d event(s): %w", r.o.table, len(seqs), err)
			var blocked bool
			done, blocked = r.settle(err, seqs, tenants, byIndex, heads, giveUp, now)
			if !blocked {
				pubErr = nil
			}
		}
	}
	r.attempts = heads
	if len(done) > 0 {
		if err := r.st.markDelivered(mctx, done); err != nil {
			return pubErr, fmt.Errorf("outbox relay %s: mark %d row(s) delivered: %w", r.o.table, len(done), err)
		}
	}
	var nDead, nLettered uint64
	if len(dead) > 0 {
		lettered := false
		if r.cfg.DeadLetter != nil {
			if err := r.cfg.DeadLetter.DeadLetter(ctx, dead); err != nil {
				// The rows stay pending and are given up on again next
				// round.
				err = fmt.Errorf("outbox relay %s: dead-letter %d row(s): %w", r.o.table, len(dead), err)
				r.count(uint64(len(done)), 0, 0)
				return errors.Join(pubErr, err), nil
			}
			lettered = true
		}
		for i := range dead {
			d := &dead[i]
			if err := r.st.markDead(mctx, d.Seq, d.Error, lettered); err != nil {
				return pubErr, fmt.Errorf("outbox relay %s: mark seq %d dead: %w", r.o.table, d.Seq, err)
			}
			r.log.LogAttrs(ctx, slog.LevelError, "outbox row dead", slog.Int64("seq", d.Seq), slog.String("event_id", d.EventID),
				slog.String("reason", d.Reason), slog.Int("attempts", d.Attempts), slog.Bool("dead_lettered", lettered), slog.String("error", d.Error))
			nDead++
			if lettered {
				nLettered++
			}
		}
	}
	r.count(uint64(len(done)), nDead, nLettered)
	return pubErr, nil
}

func (r *Relay) count(relayed, dead, lettered uint64) {
	r.mu.Lock()
	r.status.Relayed += relayed
	r.status.Dead += dead
	r.status.DeadLettered += lettered
	if relayed > 0 {
		r.status.LastRelay = time.Now()
	}
	r.mu.Unlock()
}

// settle sorts out a failed publish of the events seqs (the i-th of
// tenant tenants[i], row byIndex[i]): it returns the seqs to mark
// delivered and whether a tenant is blocked (some row must be retried).
// The first failed row of each tenant is its head: a permanent failure
// counts an attempt (kept in heads; at MaxAttempts the row is given up
// on), a transient one (the broker unavailable, a timeout) does not. A
// row the publisher rejects as invalid is given up on at once. A tenant
// whose head is retried keeps the head and its later rows of the batch
// pending (stored ones are published again, with the same ids).
func (r *Relay) settle(err error, seqs []int64, tenants []string, byIndex []*pending, heads map[int64]*attempt,
	giveUp func(*pending, string, error, *attempt), now time.Time) (done []int64, blocked bool) {
	be, ok := errors.AsType[*transport.BatchError](err)
	if !ok {
		// Nothing is known per event: every row stays pending and no row
		// is charged an attempt.
		for _, s := range seqs {
			if a := r.attempts[s]; a != nil {
				heads[s] = a
			}
		}
		return nil, true
	}
	fs := slices.Clone(be.Failed)
	slices.SortStableFunc(fs, func(x, y transport.FailedEvent) int { return x.Index - y.Index })
	failed := make(map[int]bool, len(fs))
	headSeen := map[string]bool{}
	retry := map[string]int{} // tenant -> index of its retried head: it and later rows stay pending
	for _, f := range fs {
		if f.Index < 0 || f.Index >= len(seqs) {
			continue
		}
		failed[f.Index] = true
		p, tenant := byIndex[f.Index], tenants[f.Index]
		switch {
		case errors.Is(f.Err, core.ErrInvalid) && !isTransient(f.Err):
			// Never publishable: it must not block its tenant.
			giveUp(p, DLQReasonRelay, f.Err, nil)
			continue
		case headSeen[tenant]:
			continue // behind its tenant's failed head: waits, not counted
		}
		headSeen[tenant] = true
		a := r.attempts[p.seq]
		if isTransient(f.Err) {
			retry[tenant] = f.Index
			if a != nil {
				heads[p.seq] = a
			}
			continue
		}
		if a == nil {
			a = &attempt{first: now}
		}
		a.n++
		a.last = now
		heads[p.seq] = a // kept should the dead-lettering fail
		if a.n >= r.cfg.MaxAttempts {
			giveUp(p, DLQReasonRelay, fmt.Errorf("%d attempt(s): %w", a.n, f.Err), a)
			continue
		}
		retry[tenant] = f.Index
	}
	done = make([]int64, 0, len(seqs))
	for i, s := range seqs {
		if h, ok := retry[tenants[i]]; failed[i] || (ok && i > h) {
			continue
		}
		done = append(done, s)
	}
	return done, len(retry) > 0
}

func isTransient(err error) bool {
	return errors.Is(err, core.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// encodedRow turns a row into an EncodedEvent, parsing its ids.
func encodedRow(p *pending) (transport.EncodedEvent, error) {
	e := transport.EncodedEvent{EventType: p.eventType, SchemaVersion: uint16(p.schema), TraceID: p.trace.String, ContentType: p.contentType, Payload: p.payload}
	var err1, err2, err3, err4 error
	e.ID, err1 = uuid.Parse(p.id)
	e.TenantID, err2 = uuid.Parse(p.tenant)
	e.CorrelationID, err3 = uuid.Parse(p.correlation)
	if p.causation.Valid {
		e.CausationID, err4 = uuid.Parse(p.causation.String)
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return e, fmt.Errorf("outbox row %d: %w: bad id column: %v", p.seq, core.ErrInvalid, err)
	}
	if p.schema < 0 || p.schema > 65535 {
		return e, fmt.Errorf("outbox row %d: %w: schema_version %d out of range", p.seq, core.ErrInvalid, p.schema)
	}
	return e, nil
}

// decodeRow decodes a row's payload by its content type and checks it is
// the event the row says. On failure reason is the DLQ reason:
// transport.DLQReasonDecode when the payload does not decode,
// DLQReasonRelay when it is not the row's event.
func decodeRow(p *pending) (e core.Envelope, reason string, err error) {
	c, err := codec.ForContentType(p.contentType)
	if err != nil {
		return core.Envelope{}, transport.DLQReasonDecode, fmt.Errorf("outbox row %d: %w", p.seq, err)
	}
	e, err = c.Decode(p.payload)
	if err != nil {
		return core.Envelope{}, transport.DLQReasonDecode, fmt.Errorf("outbox row %d: %w", p.seq, err)
	}
	id, err := uuid.Parse(p.id)
	if err != nil || id != e.ID {
		return core.Envelope{}, DLQReasonRelay, fmt.Errorf("outbox row %d: %w: payload id %s does not match event_id %q", p.seq, core.ErrInvalid, e.ID, p.id)
	}
	return e, "", nil
}
