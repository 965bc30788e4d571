package broker

import (
	"net"
	"sync"
	"time"
)

// Login throttling defaults (Config.LoginThrottleBase, LoginThrottleMax).
const (
	// DefaultLoginThrottleBase is the delay after the first failure beyond
	// the free ones; each further failure doubles it.
	DefaultLoginThrottleBase = 100 * time.Millisecond
	// DefaultLoginThrottleMax caps the delay between two attempts on one
	// key.
	DefaultLoginThrottleMax = 500 * time.Millisecond
	// loginFreeFailures is the number of failures a key may have before
	// its attempts are delayed (a typo costs nothing).
	loginFreeFailures = 3
	// loginMaxWait is the longest an attempt waits for its turn; an
	// attempt that would wait longer is refused at once, unchecked, so the
	// queue of waiting attempts stays short.
	loginMaxWait = 20 * time.Second
	// loginForget drops a key after this long without attempts: failures
	// decay, so no key is throttled for good.
	loginForget = 15 * time.Minute
	// loginMaxKeys bounds the throttle's memory (one entry per username
	// and source address tried recently).
	loginMaxKeys = 100_000
)

// throttle spaces out login attempts per key (a username, a source
// address): after loginFreeFailures failures, attempt n must wait
// base*2^(n-free-1), at most max, after the previous attempt's turn. Turns
// are reserved, so attempts sent in parallel are spread out as if they were
// sent one after the other. A success resets its keys. It is safe for
// concurrent use.
type throttle struct {
	base, max time.Duration

	mu        sync.Mutex
	keys      map[string]*throttleKey
	lastPrune time.Time
}

type throttleKey struct {
	failures int       // attempts since the last success, in flight included
	next     time.Time // earliest turn of the next attempt
	last     time.Time // latest turn given
}

func newThrottle(base, max time.Duration) *throttle {
	return &throttle{base: base, max: max, keys: make(map[string]*throttleKey)}
}

// delay is the spacing after f failures.
func (t *throttle) delay(f int) time.Duration {
	n := f - loginFreeFailures
	if n <= 0 {
		return 0
	}
	d := t.base
	for i := 1; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// reserve books the turn of one attempt on keys at now: it returns when the
// attempt may be checked (>= now) and false when that is more than
// loginMaxWait away (nothing is booked then). The attempt counts as failed
// until succeed is called for its keys.
func (t *throttle) reserve(now time.Time, keys ...string) (time.Time, bool) {
	if t.base <= 0 {
		return now, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	turn := now
	for _, k := range keys {
		if e := t.keys[k]; e != nil && e.next.After(turn) {
			turn = e.next
		}
	}
	if turn.Sub(now) > loginMaxWait {
		return turn, false
	}
	for _, k := range keys {
		e := t.keys[k]
		if e == nil {
			e = &throttleKey{}
			t.keys[k] = e
		}
		e.failures++
		e.last = turn
		e.next = turn.Add(t.delay(e.failures))
	}
	return turn, true
}

// succeed resets keys after a successful login.
func (t *throttle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// pruneLocked forgets stale keys, at most once a minute unless the map is
// full; a full map drops keys at random until it has room.
func (t *throttle) pruneLocked(now time.Time) {
	if len(t.keys) < loginMaxKeys && now.Sub(t.lastPrune) < time.Minute {
		return
	}
	t.lastPrune = now
	for k, e := range t.keys {
		if now.Sub(e.last) > loginForget || len(t.keys) >= loginMaxKeys {
			delete(t.keys, k)
		}
	}
}

// sourceKey is the throttle key of a session's source address: its IP
// without the port.
func sourceKey(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	return "addr:" + addr
}
