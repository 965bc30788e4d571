package broker

import (
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestThrottleSpacing(t *testing.T) {
	th := newThrottle(100*time.Millisecond, 500*time.Millisecond)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var turns []time.Duration
	at := now
	for range 8 {
		turn, ok := th.reserve(at, "user:iggy")
		if !ok {
			t.Fatal("refused")
		}
		turns = append(turns, turn.Sub(now))
		at = turn // the next attempt comes right after this one's answer
	}
	want := []time.Duration{0, 0, 0, 0, 100, 300, 700, 1200} // ms: free, free, free, +100, +200, +400, +500 (cap)
	for i, w := range want {
		if turns[i] != w*time.Millisecond {
			t.Fatalf("turn %d at %v, want %v (all %v)", i, turns[i], w*time.Millisecond, turns)
		}
	}
	// Another key is independent; a success resets.
	if turn, _ := th.reserve(at, "user:other"); !turn.Equal(at) {
		t.Fatal(turn)
	}
	th.succeed("user:iggy")
	if turn, _ := th.reserve(at, "user:iggy"); !turn.Equal(at) {
		t.Fatal(turn)
	}
}

func TestThrottleParallelAttemptsAreSpreadAndBounded(t *testing.T) {
	th := newThrottle(100*time.Millisecond, 500*time.Millisecond)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Many attempts at the same instant (parallel connections): each gets a
	// later turn, until the queue would exceed loginMaxWait.
	var last time.Time
	refused := 0
	for range 100 {
		turn, ok := th.reserve(now, "addr:10.0.0.1")
		if !ok {
			refused++
			continue
		}
		if turn.Before(last) {
			t.Fatal("turns out of order")
		}
		last = turn
	}
	if last.Sub(now) < loginMaxWait-time.Second || refused == 0 {
		t.Fatalf("last turn %v, refused %d", last.Sub(now), refused)
	}
	// Never for good: once the keys are forgotten the attempts are free.
	if turn, ok := th.reserve(now.Add(loginForget+2*time.Minute), "addr:10.0.0.1"); !ok || !turn.Equal(now.Add(loginForget+2*time.Minute)) {
		t.Fatal(turn, ok)
	}
}

// TestLoginThrottle: 100 wrong passwords for one user cost at least 5 s of
// waiting (measured on the injected clock), the right one still logs in
// with at most the capped delay, and resets the throttle.
func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var waited time.Duration
	e.b.sleep = func(d time.Duration) bool {
		mu.Lock()
		waited += d
		mu.Unlock()
		e.clk.Advance(d)
		return true
	}
	s := e.b.NewSession("192.0.2.1:5000", 1)
	for range 100 {
		_, err := e.b.Login(s, "iggy", "wrong-password")
		wantCode(t, err, iggyproto.CodeInvalidCredentials)
	}
	if waited < 5*time.Second {
		t.Fatalf("100 wrong passwords waited %v", waited)
	}
	before := waited
	if _, err := e.b.Login(s, "iggy", "iggy"); err != nil {
		t.Fatal(err)
	}
	if d := waited - before; d > DefaultLoginThrottleMax {
		t.Fatalf("right password waited %v", d)
	}
	// Reset: the next failures are free again.
	before = waited
	_, _ = e.b.Login(s, "iggy", "wrong-password")
	if waited != before {
		t.Fatal("throttle not reset by the success")
	}
	// The source address is throttled too, whatever the username.
	s2 := e.b.NewSession("192.0.2.2:5000", 1)
	for i := range 10 {
		_, _ = e.b.Login(s2, "user"+string(rune('a'+i)), "wrong-password")
	}
	before = waited
	_, _ = e.b.Login(s2, "fresh-name", "wrong-password")
	if waited == before {
		t.Fatal("source address not throttled")
	}
	// And tokens, per source address.
	s3 := e.b.NewSession("192.0.2.3:5000", 1)
	for range 10 {
		_, _ = e.b.LoginWithToken(s3, "not-a-token")
	}
	before = waited
	_, _ = e.b.LoginWithToken(s3, "not-a-token")
	if waited == before {
		t.Fatal("token logins not throttled")
	}
}

func TestUnknownUserCostsAPasswordHash(t *testing.T) {
	e := newEnv(t)
	s := e.b.NewSession("192.0.2.9:1", 1)
	n := passwordChecks.Load()
	_, err := e.b.Login(s, "nobody-here", "whatever")
	wantCode(t, err, iggyproto.CodeInvalidCredentials)
	if passwordChecks.Load() != n+1 {
		t.Fatal("unknown user answered without hashing")
	}
	if dummyHash() == "" || checkPassword(dummyHash(), "whatever") {
		t.Fatal("dummy hash")
	}
}

func TestRootPasswordIsDefault(t *testing.T) {
	if !newEnv(t).b.RootPasswordIsDefault() {
		t.Fatal("fresh data dir: want default")
	}
	if newEnv(t, func(c *Config) { c.RootPassword = "s3cret-pass" }).b.RootPasswordIsDefault() {
		t.Fatal("configured password reported as default")
	}
}
