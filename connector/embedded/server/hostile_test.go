package server

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Hostile clients: silent connections, stalled and oversized frames.

func startLoginFake(t *testing.T, cfg Config) (*Server, *fakeBackend, string) {
	t.Helper()
	f := newFakeBackend()
	f.requireLogin = true
	return startFakeWith(t, f, cfg)
}

func fakeLoginOK(t *testing.T, c net.Conn) {
	t.Helper()
	if st, _ := roundTrip(t, c, frame(fakeLogin, nil)); st != 0 {
		t.Fatalf("login: %d", st)
	}
}

// header returns only the 8-byte header of a frame declaring n payload bytes.
func header(code uint32, n int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(n+4))
	return binary.LittleEndian.AppendUint32(b, code)
}

func TestLoginDeadlineClosesASilentConnection(t *testing.T) {
	s, _, addr := startLoginFake(t, Config{LoginTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	expectClosed(t, c)
	// A connection that keeps pinging without logging in is closed too.
	c = dial(t, addr)
	roundTrip(t, c, frame(fakePing, nil))
	expectClosed(t, c)
	waitFor(t, func() bool { return s.connCount() == 0 })
}

func TestLoggedInConnectionOutlivesTheLoginDeadline(t *testing.T) {
	s, _, addr := startLoginFake(t, Config{LoginTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	fakeLoginOK(t, c)
	// The silent one is closed after its deadline; the logged-in one,
	// connected at the same time, is not.
	silent := dial(t, addr)
	expectClosed(t, silent)
	waitFor(t, func() bool { return s.connCount() == 1 })
	if st, _ := roundTrip(t, c, frame(fakePing, nil)); st != 0 {
		t.Fatal(st)
	}
	// After logout the login deadline applies again.
	roundTrip(t, c, frame(fakeLogout, nil))
	expectClosed(t, c)
}

func TestSilentConnectionsNeverStarveALogin(t *testing.T) {
	// No login deadline: only the pending caps protect the slots.
	s, _, addr := startLoginFake(t, Config{
		MaxConnections: 4, MaxPendingConnections: 8, MaxPendingPerAddr: 4, LoginTimeout: -1,
	})
	var silent []net.Conn
	for range 20 {
		silent = append(silent, dial(t, addr))
	}
	waitFor(t, func() bool { return s.pendingCount() == 4 })
	for i := range 3 {
		c := dial(t, addr)
		fakeLoginOK(t, c)
		if st, _ := roundTrip(t, c, frame(fakePing, nil)); st != 0 {
			t.Fatalf("client %d: %d", i, st)
		}
	}
	// The oldest silent connections were evicted.
	expectClosed(t, silent[0])
	if s.pendingCount() > 4 {
		t.Fatalf("pending %d over the per-address cap", s.pendingCount())
	}
}

func TestLoginAboveMaxConnectionsIsRefused(t *testing.T) {
	_, _, addr := startLoginFake(t, Config{MaxConnections: 1})
	c1 := dial(t, addr)
	fakeLoginOK(t, c1)
	c2 := dial(t, addr)
	if st, _ := roundTrip(t, c2, frame(fakeLogin, nil)); st != uint32(iggyproto.CodeError) {
		t.Fatalf("second login: %d", st)
	}
	expectClosed(t, c2)
	if st, _ := roundTrip(t, c1, frame(fakePing, nil)); st != 0 {
		t.Fatal(st)
	}
}

func TestBigFrameBeforeLoginIsRefused(t *testing.T) {
	_, _, addr := startLoginFake(t, Config{})
	c := dial(t, addr)
	st, _ := roundTrip(t, c, header(uint32(iggyproto.CmdSendMessages), 100<<20))
	if st != uint32(iggyproto.CodeUnauthenticated) {
		t.Fatal(st)
	}
	expectClosed(t, c)
}

func TestDeclared4GiBFrameIsAnsweredAndClosedAtOnce(t *testing.T) {
	_, _, addr := startFake(t, Config{})
	c := dial(t, addr)
	raw := binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF)
	raw = binary.LittleEndian.AppendUint32(raw, uint32(iggyproto.CmdSendMessages))
	st, _ := roundTrip(t, c, raw)
	if st != uint32(iggyproto.CodeInvalidCommand) {
		t.Fatal(st)
	}
	expectClosed(t, c)
}

func TestStalledFrameHoldsOnlyWhatArrivedAndIsDropped(t *testing.T) {
	const budget = 128 << 20
	s, f, addr := startFake(t, Config{ReadTimeout: 200 * time.Millisecond, MaxFrameMemory: budget})
	c := dial(t, addr)
	// Declare 100 MB, send 2 MiB + 10 bytes, stall.
	sent := 2<<20 + 10
	raw := append(header(uint32(iggyproto.CmdSendMessages), 100_000_000), make([]byte, sent)...)
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	// Three chunks charged (the third is waiting for its bytes), not 100 MB.
	waitFor(t, func() bool { return s.budget.available() == budget-3*chunkSize })
	expectClosed(t, c)
	waitFor(t, func() bool { return s.budget.available() == budget && f.closed.Load() == 1 })
}

func TestFrameMemoryBudgetPushesBack(t *testing.T) {
	const budget = 4 << 20
	s, _, addr := startFake(t, Config{MaxFrameMemory: budget, MaxSendFrame: budget})
	a, b := dial(t, addr), dial(t, addr)
	// a takes the whole budget: 3 MiB + 1 byte of a 4 MiB frame arrived.
	pa := make([]byte, 4<<20)
	fa := frame(fakeEcho, pa)
	cut := 8 + 3<<20 + 1
	if _, err := a.Write(fa[:cut]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.budget.available() == 0 })
	// b's frame must wait: its connection is no longer read.
	pb := make([]byte, 2<<20)
	pb[len(pb)-1] = 7
	go func() { _, _ = b.Write(frame(fakeEcho, pb)) }()
	waitFor(t, func() bool { return s.budget.waiting() == 1 })
	// a completes: it is answered, then b gets its budget and its answer.
	if _, err := a.Write(fa[cut:]); err != nil {
		t.Fatal(err)
	}
	if st, p, err := readResponse(a); err != nil || st != 0 || len(p) != len(pa) {
		t.Fatalf("a: %d %d %v", st, len(p), err)
	}
	if st, p, err := readResponse(b); err != nil || st != 0 || len(p) != len(pb) || p[len(p)-1] != 7 {
		t.Fatalf("b: %d %d %v", st, len(p), err)
	}
	waitFor(t, func() bool { return s.budget.available() == budget })
}

func TestMemBudget(t *testing.T) {
	b := newMemBudget(10)
	kill := make(chan struct{})
	if err := b.acquire(6, time.Time{}, kill); err != nil {
		t.Fatal(err)
	}
	// A past deadline gives up and leaves the budget as it was.
	if err := b.acquire(5, time.Now(), kill); !errors.Is(err, errBudgetWait) {
		t.Fatal(err)
	}
	if b.available() != 4 || b.waiting() != 0 {
		t.Fatal(b.available(), b.waiting())
	}
	got := make(chan error)
	go func() { got <- b.acquire(8, time.Time{}, kill) }()
	waitFor(t, func() bool { return b.waiting() == 1 })
	// FIFO: a small request behind a waiting big one waits too.
	go func() { got <- b.acquire(1, time.Time{}, kill) }()
	waitFor(t, func() bool { return b.waiting() == 2 })
	b.release(6) // 10 free: the 8 goes, then the 1
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if b.available() != 1 {
		t.Fatal(b.available())
	}
	go func() { got <- b.acquire(5, time.Time{}, kill) }()
	waitFor(t, func() bool { return b.waiting() == 1 })
	close(kill)
	if err := <-got; !errors.Is(err, errBudgetWait) {
		t.Fatal(err)
	}
	b.release(9)
	if b.available() != 10 {
		t.Fatal(b.available())
	}
}

func TestConfigDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	if d.LoginTimeout != DefaultLoginTimeout || d.IdleTimeout != DefaultIdleTimeout ||
		d.ReadTimeout != DefaultReadTimeout || d.WriteTimeout != DefaultWriteTimeout ||
		d.MaxFrameMemory != DefaultMaxFrameMemory || d.MaxPendingPerAddr != DefaultMaxPendingPerAddr {
		t.Fatalf("%+v", d)
	}
	if d := (Config{IdleTimeout: -1, LoginTimeout: -1}).withDefaults(); d.IdleTimeout != 0 || d.LoginTimeout != 0 {
		t.Fatalf("negative is none: %+v", d)
	}
	if err := (Config{MaxSendFrame: 10 << 20, MaxFrameMemory: 1 << 20}).Validate(); err == nil {
		t.Fatal("budget below one frame accepted")
	}
}
