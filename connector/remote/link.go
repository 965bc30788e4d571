package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/apache/iggy/foreign/go/client/tcp"
	"github.com/rustok/rustok-iggy/core"
)

// link is a self-healing connection: it holds a session while one is up,
// and when the session breaks it replaces it in the background (backoff
// with jitter, log in, then setup, e.g. re-joining a consumer group).
// Callers use a link exclusively (the pool or a member hands it out) and
// run requests through exec.
type link struct {
	b    *Broker
	name string
	// setup runs on every new session after login; an error makes the
	// attempt fail (and, unless it is a connection failure, ends the link:
	// see lost).
	setup func(ctx context.Context, s *session) error
	// onChange is told when the link goes up or down (may be nil).
	onChange func()

	ctx    context.Context // ends when the link closes
	cancel context.CancelFunc

	mu           sync.Mutex
	s            *session // nil while down
	cause        error    // why the link is down
	lost         error    // setup refused for good: the link stays down
	reconnecting bool
	closed       bool
}

func newLink(b *Broker, name string, s *session, setup func(context.Context, *session) error, onChange func()) *link {
	ctx, cancel := context.WithCancel(b.ctx)
	return &link{b: b, name: name, s: s, setup: setup, onChange: onChange, ctx: ctx, cancel: cancel}
}

// up reports whether the link has a session.
func (l *link) up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s != nil && !l.closed
}

// isReconnecting reports whether a reconnect loop is running.
func (l *link) isReconnecting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reconnecting && !l.closed
}

// state returns the session, or the error a caller gets while there is
// none.
func (l *link) state() (*session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stateLocked()
}

func (l *link) stateLocked() (*session, error) {
	switch {
	case l.closed:
		return nil, core.ErrClosed
	case l.lost != nil:
		return nil, l.lost
	case l.s == nil:
		return nil, unavailable(l.cause)
	}
	return l.s, nil
}

// down starts replacing s after cause broke it, unless s is no longer the
// link's session.
func (l *link) down(s *session, cause error) {
	l.mu.Lock()
	if l.s != s || l.closed {
		l.mu.Unlock()
		return
	}
	l.s = nil
	l.cause = cause
	l.reconnecting = true
	// Counted while l.mu is held and the link open, so before Close's Wait.
	l.b.wg.Go(func() { l.reconnect(s) })
	l.mu.Unlock()
	l.b.log.LogAttrs(context.Background(), slog.LevelWarn, "connection lost, reconnecting",
		slog.String("link", l.name), slog.String("address", s.addr), slog.Any("cause", cause))
	if l.onChange != nil {
		l.onChange()
	}
}

// startDown starts a link that could not connect: it reconnects in the
// background.
func (l *link) startDown(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cause = cause
	l.reconnecting = true
	l.b.wg.Go(func() { l.reconnect(nil) })
}

// reconnect closes old (if any) and dials until a new session is up, the link
// closes, or setup refuses for good.
func (l *link) reconnect(old *session) {
	if old != nil {
		old.close()
	}
	backoff := l.b.cfg.Reconnect.Min
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := backoff/2 + rand.N(backoff/2+1)
			t := time.NewTimer(wait)
			select {
			case <-l.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, l.b.cfg.Reconnect.Max)
		}
		s, err := l.b.dial(l.ctx)
		if err == nil && l.setup != nil {
			if err = l.setup(l.ctx, s); err != nil {
				s.close()
			}
		}
		if err == nil {
			l.mu.Lock()
			if l.closed {
				l.mu.Unlock()
				s.close()
				return
			}
			l.s, l.cause, l.reconnecting = s, nil, false
			l.mu.Unlock()
			l.b.log.LogAttrs(context.Background(), slog.LevelInfo, "reconnected",
				slog.String("link", l.name), slog.String("address", s.addr), slog.Int("attempts", attempt+1))
			if l.onChange != nil {
				l.onChange()
			}
			return
		}
		if l.ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.cause = err
		if l.setup != nil && !errors.Is(err, core.ErrUnavailable) && !errors.Is(err, core.ErrUnauthenticated) {
			l.lost = fmt.Errorf("%w: re-joining after a reconnect failed: %w", core.ErrNotMember, err)
			l.reconnecting = false
			l.mu.Unlock()
			l.b.log.LogAttrs(context.Background(), slog.LevelError, "reconnected, but setup failed; giving up",
				slog.String("link", l.name), slog.Any("error", err))
			if l.onChange != nil {
				l.onChange()
			}
			return
		}
		l.mu.Unlock()
		l.b.log.LogAttrs(context.Background(), slog.LevelDebug, "reconnect attempt failed",
			slog.String("link", l.name), slog.Int("attempt", attempt+1), slog.Any("error", err))
	}
}

// close ends the link: its session is closed (a request in flight fails)
// and its reconnect loop stops.
func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	s := l.s
	l.s = nil
	l.mu.Unlock()
	l.cancel()
	if s != nil {
		s.close()
	}
}

// exec runs fn on the link's session with a deadline: the earlier of ctx's
// and RequestTimeout. The caller holds the link; release hands it back and
// is called exactly once, when the session is free again: before exec
// returns, or, if ctx ended first, by the request's goroutine when the SDK
// call returns. A request that outlives RequestTimeout has its socket
// closed, which makes the SDK call return and the link reconnect. Errors
// are mapped to the core sentinels.
func (l *link) exec(ctx context.Context, release func(), fn func(c *tcp.IggyTcpClient) error) error {
	if err := ctx.Err(); err != nil {
		release()
		return err
	}
	// The request's goroutine is counted while l.mu is held and the link
	// open, so before Close waits for the broker's goroutines.
	l.mu.Lock()
	s, err := l.stateLocked()
	if err != nil {
		l.mu.Unlock()
		release()
		return err
	}
	l.b.wg.Add(1)
	l.mu.Unlock()
	start := time.Now()
	var (
		mu        sync.Mutex
		abandoned bool
		killer    *time.Timer
		ch        = make(chan error, 1)
	)
	go func() {
		defer l.b.wg.Done()
		err := protect(func() error { return fn(s.cli) })
		mu.Lock()
		if !abandoned {
			ch <- err
			mu.Unlock()
			return
		}
		if killer != nil {
			killer.Stop()
		}
		mu.Unlock()
		l.settle(s, err)
		release()
	}()
	timer := time.NewTimer(l.b.cfg.RequestTimeout)
	defer timer.Stop()
	var timedOut bool
	select {
	case err := <-ch:
		return l.finish(s, err, release)
	case <-ctx.Done():
	case <-timer.C:
		timedOut = true
	}
	mu.Lock()
	select {
	case err := <-ch:
		mu.Unlock()
		return l.finish(s, err, release)
	default:
	}
	abandoned = true
	if timedOut {
		mu.Unlock()
		s.kill()
		l.down(s, fmt.Errorf("%w: no answer within %s", errKilled, l.b.cfg.RequestTimeout))
		return unavailable(fmt.Errorf("request timed out after %s", l.b.cfg.RequestTimeout))
	}
	// Give the request the rest of RequestTimeout to finish in the
	// background before its connection is declared broken.
	rest := l.b.cfg.RequestTimeout - time.Since(start)
	killer = time.AfterFunc(max(rest, 0), func() {
		s.kill()
		l.down(s, fmt.Errorf("%w: abandoned request overran %s", errKilled, l.b.cfg.RequestTimeout))
	})
	mu.Unlock()
	return ctxErr(ctx)
}

// finish settles a completed request and maps its error.
func (l *link) finish(s *session, err error, release func()) error {
	l.settle(s, err)
	release()
	if err != nil && isBroken(err) {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return fmt.Errorf("%w: %w", core.ErrClosed, err)
		}
	}
	return mapErr(err)
}

// settle marks the link down when err broke the connection.
func (l *link) settle(s *session, err error) {
	if isBroken(err) {
		l.down(s, err)
	}
}
