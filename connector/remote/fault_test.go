package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	ierror "github.com/apache/iggy/foreign/go/errors"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

func testConfig(addrs ...string) Config {
	return Config{
		Addresses:      addrs,
		Username:       "iggy",
		Password:       "secret",
		ConnectTimeout: 300 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond,
		PoolSize:       2,
		Reconnect:      BackoffConfig{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond},
		Heartbeat:      -1,
	}
}

func newTestBroker(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// eventually polls cond (there is no event to wait on) for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestConnectSilentListenerFailsWithinTimeout(t *testing.T) {
	addr := silentListener(t)
	cfg := testConfig(addr)
	cfg.ConnectTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := New(t.Context(), cfg)
	elapsed := time.Since(start)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("New took %s with a 200ms connect timeout", elapsed)
	}
}

func TestConnectRefusedFailsFast(t *testing.T) {
	cfg := testConfig(refusedAddr(t), refusedAddr(t))
	start := time.Now()
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("New took %s", d)
	}
}

func TestConnectHonoursCallerContext(t *testing.T) {
	addr := silentListener(t)
	cfg := testConfig(addr)
	cfg.ConnectTimeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(ctx, cfg)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("New = %v after %s, want a failure at the ctx deadline", err, time.Since(start))
	}
}

func TestConnectTriesAddressesInOrder(t *testing.T) {
	f := newFakeServer(t)
	b := newTestBroker(t, testConfig(refusedAddr(t), f.addr))
	if _, err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestWrongPasswordIsUnauthenticated(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(f.addr)
	cfg.Password = "wrong-password"
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
	var ie *iggyproto.Error
	if !errors.As(err, &ie) || ie.Code != iggyproto.CodeInvalidCredentials {
		t.Fatalf("errors.As code = %v, want 42", ie)
	}
	if !errors.Is(err, ierror.ErrInvalidCredentials) {
		t.Fatalf("the SDK error is not reachable: %v", err)
	}
}

func TestTokenLogin(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(f.addr)
	cfg.Username, cfg.Password, cfg.Token = "", "", "tok"
	b := newTestBroker(t, cfg)
	if _, err := b.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg.Token = "bad"
	if _, err := New(t.Context(), cfg); !errors.Is(err, core.ErrUnavailable) && !errors.Is(err, core.ErrNotFound) {
		// Iggy answers an unknown token with 20 ResourceNotFound.
		t.Fatalf("bad token: %v", err)
	}
}

func TestRequestTimeoutReplacesConnection(t *testing.T) {
	f := newFakeServer(t)
	f.handle = func(code uint32, p []byte) (uint32, []byte, bool) { return 0, nil, code == 200 }
	b := newTestBroker(t, testConfig(f.addr))
	start := time.Now()
	_, err := b.Stream(t.Context(), "s")
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Stream on a hung server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("request returned after %s, want about the 300ms request timeout", d)
	}
	eventually(t, "the connection to be replaced", func() bool { return !b.Reconnecting() && f.logins.Load() >= 3 })
	if _, err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the replacement: %v", err)
	}
}

func TestContextEndsCallEarly(t *testing.T) {
	f := newFakeServer(t)
	f.handle = func(code uint32, p []byte) (uint32, []byte, bool) { return 0, nil, code == 200 }
	cfg := testConfig(f.addr)
	cfg.RequestTimeout = 2 * time.Second
	b := newTestBroker(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Stream(ctx, "s")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("returned after %s", d)
	}
	// The other pooled connection still serves.
	if _, err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	f := newFakeServer(t)
	b := newTestBroker(t, testConfig(f.addr))
	m, err := b.JoinGroup(t.Context(), "s", "t", "g")
	if err != nil {
		t.Fatalf("JoinGroup: %v", err)
	}
	f.stop()
	// Every pooled connection is dead; calls fail fast once they notice.
	for range 3 {
		if _, err := b.Ping(t.Context()); err != nil && !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("Ping while down: %v, want ErrUnavailable", err)
		}
	}
	eventually(t, "calls to fail fast", func() bool {
		start := time.Now()
		_, err := b.Ping(t.Context())
		return errors.Is(err, core.ErrUnavailable) && time.Since(start) < 100*time.Millisecond
	})
	if !b.Reconnecting() {
		t.Fatal("Reconnecting() = false while the server is down")
	}
	if _, err := m.Poll(t.Context(), core.GroupPoll{Strategy: core.Next(), Count: 1}); err == nil {
		// The member notices on its first call.
		t.Log("member poll succeeded on a dead server?")
	}
	joins := f.joins.Load()
	f.restart()
	eventually(t, "recovery", func() bool {
		_, err := b.Ping(t.Context())
		return err == nil && !b.Reconnecting()
	})
	eventually(t, "the member to re-join", func() bool { return f.joins.Load() > joins })
	if err := m.Leave(t.Context()); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if _, err := m.Poll(t.Context(), core.GroupPoll{Strategy: core.Next(), Count: 1}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Poll after Leave: %v, want ErrClosed", err)
	}
}

func TestDroppedConnectionsRecover(t *testing.T) {
	f := newFakeServer(t)
	b := newTestBroker(t, testConfig(f.addr))
	f.dropAll()
	eventually(t, "recovery", func() bool {
		_, err := b.Ping(t.Context())
		return err == nil && !b.Reconnecting()
	})
}

func TestServerErrorsMapToSentinels(t *testing.T) {
	f := newFakeServer(t)
	var code atomic32
	f.handle = func(uint32, []byte) (uint32, []byte, bool) { return code.get(), nil, false }
	b := newTestBroker(t, testConfig(f.addr))
	for _, tc := range []struct {
		code uint32
		want error
	}{
		{1009, core.ErrNotFound}, {2010, core.ErrNotFound}, {3007, core.ErrNotFound},
		{1012, core.ErrAlreadyExists}, {4100, core.ErrInvalid}, {41, core.ErrPermissionDenied},
		{40, core.ErrUnauthenticated}, {5006, core.ErrNotMember},
	} {
		code.set(tc.code)
		err := b.CreatePartitions(t.Context(), "s", "t", 1)
		if !errors.Is(err, tc.want) {
			t.Errorf("code %d: %v, want %v", tc.code, err, tc.want)
		}
		var ie ierror.IggyError
		if !errors.As(err, &ie) || uint32(ie.Code()) != tc.code {
			t.Errorf("code %d: SDK error not recoverable from %v", tc.code, err)
		}
	}
}

func TestEmptyOKNotFound(t *testing.T) {
	f := newFakeServer(t)
	f.handle = func(uint32, []byte) (uint32, []byte, bool) { return 0, nil, false }
	b := newTestBroker(t, testConfig(f.addr))
	if _, err := b.Stream(t.Context(), "s"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Stream: %v", err)
	}
	if _, err := b.Topic(t.Context(), "s", "t"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Topic: %v", err)
	}
	if _, err := b.Group(t.Context(), "s", "t", "g"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Group: %v", err)
	}
	if _, err := b.Offset(t.Context(), core.Consumer{Kind: core.SingleConsumer, Name: "c"}, "s", "t", 0); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Offset: %v", err)
	}
}

func TestMalformedResponseDoesNotPanic(t *testing.T) {
	f := newFakeServer(t)
	// A 5-byte offset answer: the SDK's decoder indexes 20 bytes.
	f.handle = func(uint32, []byte) (uint32, []byte, bool) { return 0, []byte{1, 2, 3, 4, 5}, false }
	b := newTestBroker(t, testConfig(f.addr))
	if _, err := b.Offset(t.Context(), core.Consumer{Kind: core.SingleConsumer, Name: "c"}, "s", "t", 0); err == nil {
		t.Fatal("Offset on a malformed answer succeeded")
	}
}

func TestPollDecodesMessages(t *testing.T) {
	f := newFakeServer(t)
	hdr, err := EncodeHeaders(nil, core.Headers{core.StringHeader("k", "v"), core.Uint64Header("n", 7)})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("hello")
	f.handle = func(code uint32, p []byte) (uint32, []byte, bool) {
		if code != 100 {
			return 3, nil, false
		}
		b := binary.LittleEndian.AppendUint32(nil, 2) // partition
		b = binary.LittleEndian.AppendUint64(b, 9)    // current offset
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint64(b, 0xabc) // checksum
		b = append(b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
		b = binary.LittleEndian.AppendUint64(b, 9)
		b = binary.LittleEndian.AppendUint64(b, 1_700_000_000_000_001)
		b = binary.LittleEndian.AppendUint64(b, 1_700_000_000_000_000)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
		b = binary.LittleEndian.AppendUint64(b, 0)
		b = append(b, payload...)
		b = append(b, hdr...)
		return 0, b, false
	}
	b := newTestBroker(t, testConfig(f.addr))
	got, err := b.Poll(t.Context(), core.PollRequest{Stream: "s", Topic: "t", Partition: 2, Strategy: core.First(), Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got.Partition != 2 || got.CurrentOffset != 9 || len(got.Messages) != 1 {
		t.Fatalf("polled %+v", got)
	}
	m := got.Messages[0]
	if m.Offset != 9 || m.Checksum != 0xabc || string(m.Payload) != "hello" || m.ID[0] != 1 || m.ID[15] != 16 ||
		m.Timestamp.UnixMicro() != 1_700_000_000_000_001 || m.OriginTimestamp.UnixMicro() != 1_700_000_000_000_000 {
		t.Fatalf("message %+v", m)
	}
	if m.Headers.Value("k") != "v" || m.Headers.Value("n") != "7" {
		t.Fatalf("headers %+v", m.Headers)
	}
}

func TestCloseSemantics(t *testing.T) {
	f := newFakeServer(t)
	b, err := New(t.Context(), testConfig(f.addr))
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.JoinGroup(t.Context(), "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Ping(t.Context()); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if _, err := b.JoinGroup(t.Context(), "s", "t", "g"); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("JoinGroup after Close: %v", err)
	}
	if _, err := m.Poll(t.Context(), core.GroupPoll{Strategy: core.Next(), Count: 1}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("member Poll after Close: %v", err)
	}
	if err := m.Leave(t.Context()); err != nil {
		t.Fatalf("Leave after Close: %v", err)
	}
}

func TestCloseAbortsHungRequest(t *testing.T) {
	f := newFakeServer(t)
	f.handle = func(code uint32, p []byte) (uint32, []byte, bool) { return 0, nil, true }
	cfg := testConfig(f.addr)
	cfg.RequestTimeout = time.Minute
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := b.Stream(t.Context(), "s"); done <- err }()
	eventually(t, "the request to reach the server", func() bool { return f.hangs.Load() > 0 })
	start := time.Now()
	_ = b.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s", d)
	}
	if err := <-done; !errors.Is(err, core.ErrClosed) && !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("hung request after Close: %v", err)
	}
}

func TestSDKConnAccessor(t *testing.T) {
	f := newFakeServer(t)
	b := newTestBroker(t, testConfig(f.addr))
	for _, l := range b.pool.all() {
		s, err := l.state()
		if err != nil || s.conn == nil {
			t.Fatalf("link %s: session %v, err %v", l.name, s, err)
		}
	}
}

type atomic32 struct{ v atomic.Uint32 }

func (a *atomic32) get() uint32  { return a.v.Load() }
func (a *atomic32) set(v uint32) { a.v.Store(v) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestMemberLostWhenGroupGoneAfterReconnect(t *testing.T) {
	f := newFakeServer(t)
	b := newTestBroker(t, testConfig(f.addr))
	m, err := b.JoinGroup(t.Context(), "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	f.joinStatus.Store(5000) // the group was deleted meanwhile
	f.dropAll()
	eventually(t, "the member to give up", func() bool {
		_, err := m.Poll(t.Context(), core.GroupPoll{Strategy: core.Next(), Count: 1})
		return errors.Is(err, core.ErrNotMember) && errors.Is(err, core.ErrNotFound)
	})
	if b.Reconnecting() {
		t.Error("Reconnecting() = true for a member that gave up")
	}
	if err := m.Leave(t.Context()); err != nil {
		t.Fatalf("Leave: %v", err)
	}
}

func TestJoinMissingGroup(t *testing.T) {
	f := newFakeServer(t)
	f.joinStatus.Store(5000)
	b := newTestBroker(t, testConfig(f.addr))
	if _, err := b.JoinGroup(t.Context(), "s", "t", "g"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("JoinGroup: %v", err)
	}
}
