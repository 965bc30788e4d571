package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Commands the fake backend understands.
const (
	fakePing    = 1
	fakeEcho    = 7000 // answers its payload
	fakeBlock   = 7001 // waits until released, then answers "done"
	fakePanic   = 7002
	fakeFail    = 7003 // answers the u32 code in its payload as an error
	fakeOneByte = 7004 // returns a 1-byte payload (a handler bug)
	fakeLogin   = 7005 // logs the session in (requireLogin)
	fakeLogout  = 7006
)

// fakeBackend stands in for the broker in lifecycle tests.
type fakeBackend struct {
	opened, closed atomic.Int32
	started        chan struct{} // fakeBlock signals here
	release        chan struct{} // fakeBlock waits for this
	// requireLogin makes sessions start logged out (fakeLogin logs in);
	// otherwise they count as logged in from the start.
	requireLogin bool
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (f *fakeBackend) open(net.Addr) (session, error) {
	f.opened.Add(1)
	return &fakeSession{f: f, in: !f.requireLogin}, nil
}

type fakeSession struct {
	f  *fakeBackend
	in bool
}

func (s *fakeSession) authenticated() bool { return s.in }

func (s *fakeSession) handle(code uint32, payload, out []byte) (reply, error) {
	switch code {
	case fakePing:
		return reply{}, nil
	case fakeEcho:
		// Split the answer to exercise head + tail writing.
		h := len(payload) / 2
		return reply{head: append(out, payload[:h]...), tail: append([]byte(nil), payload[h:]...)}, nil
	case fakeBlock:
		s.f.started <- struct{}{}
		<-s.f.release
		return reply{head: append(out, "done"...)}, nil
	case fakePanic:
		panic("boom")
	case fakeFail:
		return reply{}, &iggyproto.Error{Code: iggyproto.Code(binary.LittleEndian.Uint32(payload))}
	case fakeOneByte:
		return reply{head: append(out, 1)}, nil
	case fakeLogin:
		s.in = true
		return reply{}, nil
	case fakeLogout:
		s.in = false
		return reply{}, nil
	}
	return reply{}, &iggyproto.Error{Code: iggyproto.CodeInvalidCommand}
}

func (s *fakeSession) close() { s.f.closed.Add(1) }

func startFake(t *testing.T, cfg Config) (*Server, *fakeBackend, string) {
	t.Helper()
	return startFakeWith(t, newFakeBackend(), cfg)
}

func startFakeWith(t *testing.T, f *fakeBackend, cfg Config) (*Server, *fakeBackend, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := newServer(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, f, addr.String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func frame(code uint32, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)+4))
	b = binary.LittleEndian.AppendUint32(b, code)
	return append(b, payload...)
}

// roundTrip writes raw bytes and reads one response frame.
func roundTrip(t *testing.T, c net.Conn, raw []byte) (uint32, []byte) {
	t.Helper()
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	status, payload, err := readResponse(c)
	if err != nil {
		t.Fatal(err)
	}
	return status, payload
}

func readResponse(r io.Reader) (uint32, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[4:])
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return binary.LittleEndian.Uint32(hdr[:4]), p, err
}

// expectClosed asserts the server closes c without sending anything more.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if err == nil || n != 0 {
		t.Fatalf("connection still open: read %d bytes, err %v", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection not closed by the server")
	}
}

func TestServeAnswersEveryFrameInOrder(t *testing.T) {
	_, f, addr := startFake(t, Config{})
	c := dial(t, addr)
	for i := range 50 {
		p := bytes.Repeat([]byte{byte(i)}, i*100)
		st, got := roundTrip(t, c, frame(fakeEcho, p))
		if st != 0 || !bytes.Equal(got, p) {
			t.Fatalf("frame %d: status %d, %d bytes", i, st, len(got))
		}
	}
	// Several frames written at once are answered one by one, in order.
	var raw []byte
	for i := range 5 {
		raw = append(raw, frame(fakeEcho, []byte{byte(i), byte(i)})...)
	}
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		st, p, err := readResponse(c)
		if err != nil || st != 0 || !bytes.Equal(p, []byte{byte(i), byte(i)}) {
			t.Fatalf("pipelined %d: %d %v %v", i, st, p, err)
		}
	}
	if f.opened.Load() != 1 {
		t.Fatalf("sessions opened %d", f.opened.Load())
	}
}

func TestErrorsHaveNoPayload(t *testing.T) {
	_, _, addr := startFake(t, Config{})
	c := dial(t, addr)
	st, p := roundTrip(t, c, frame(fakeFail, binary.LittleEndian.AppendUint32(nil, 1009)))
	if st != 1009 || len(p) != 0 {
		t.Fatalf("got %d %v", st, p)
	}
	st, p = roundTrip(t, c, frame(4242, []byte("whatever")))
	if st != uint32(iggyproto.CodeInvalidCommand) || len(p) != 0 {
		t.Fatalf("unknown command: %d %v", st, p)
	}
	// A handler bug producing a 1-byte payload is answered as an error.
	st, p = roundTrip(t, c, frame(fakeOneByte, nil))
	if st != uint32(iggyproto.CodeError) || len(p) != 0 {
		t.Fatalf("1-byte payload: %d %v", st, p)
	}
	// The connection is still in step.
	if st, _ := roundTrip(t, c, frame(fakePing, nil)); st != 0 {
		t.Fatalf("ping after errors: %d", st)
	}
}

func TestPanicInHandlerAnswersCode1(t *testing.T) {
	_, _, addr := startFake(t, Config{})
	c := dial(t, addr)
	st, p := roundTrip(t, c, frame(fakePanic, nil))
	if st != uint32(iggyproto.CodeError) || len(p) != 0 {
		t.Fatalf("got %d %v", st, p)
	}
	if st, _ := roundTrip(t, c, frame(fakePing, nil)); st != 0 {
		t.Fatalf("ping after panic: %d", st)
	}
}

func TestClientNotFoundAndStaleCloseTheConnection(t *testing.T) {
	for _, code := range []uint32{100, 30} {
		_, f, addr := startFake(t, Config{})
		c := dial(t, addr)
		st, _ := roundTrip(t, c, frame(fakeFail, binary.LittleEndian.AppendUint32(nil, code)))
		if st != code {
			t.Fatalf("status %d, want %d", st, code)
		}
		expectClosed(t, c)
		waitFor(t, func() bool { return f.closed.Load() == 1 })
	}
}

func TestSessionClosedOnDisconnect(t *testing.T) {
	s, f, addr := startFake(t, Config{})
	c := dial(t, addr)
	roundTrip(t, c, frame(fakePing, nil))
	_ = c.Close()
	waitFor(t, func() bool { return f.closed.Load() == 1 && s.connCount() == 0 })
}

func TestMaxConnections(t *testing.T) {
	s, _, addr := startFake(t, Config{MaxConnections: 2})
	c1, c2 := dial(t, addr), dial(t, addr)
	roundTrip(t, c1, frame(fakePing, nil))
	roundTrip(t, c2, frame(fakePing, nil))
	c3 := dial(t, addr)
	expectClosed(t, c3)
	_ = c1.Close()
	waitFor(t, func() bool { return s.connCount() == 1 })
	c4 := dial(t, addr)
	if st, _ := roundTrip(t, c4, frame(fakePing, nil)); st != 0 {
		t.Fatal(st)
	}
}

func TestIdleTimeout(t *testing.T) {
	_, f, addr := startFake(t, Config{IdleTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	roundTrip(t, c, frame(fakePing, nil))
	expectClosed(t, c)
	waitFor(t, func() bool { return f.closed.Load() == 1 })
}

func TestShutdownFinishesInFlightAndClosesIdle(t *testing.T) {
	s, f, addr := startFake(t, Config{})
	busy, idle := dial(t, addr), dial(t, addr)
	roundTrip(t, idle, frame(fakePing, nil))
	if _, err := busy.Write(frame(fakeBlock, nil)); err != nil {
		t.Fatal(err)
	}
	<-f.started

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	expectClosed(t, idle) // idle connection closed at once
	// New connections are refused.
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(f.release)
	st, p, err := readResponse(busy)
	if err != nil || st != 0 || string(p) != "done" {
		t.Fatalf("in-flight response: %d %q %v", st, p, err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	expectClosed(t, busy)
	if f.opened.Load() != f.closed.Load() {
		t.Fatalf("sessions opened %d closed %d", f.opened.Load(), f.closed.Load())
	}
}

func TestShutdownContextExpiryForcesClose(t *testing.T) {
	s, f, addr := startFake(t, Config{})
	busy := dial(t, addr)
	if _, err := busy.Write(frame(fakeBlock, nil)); err != nil {
		t.Fatal(err)
	}
	<-f.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	// The handler is still blocked; the forced close waits for it.
	close(f.release)
	wg.Wait()
	if err := s.Serve(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after shutdown: %v", err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s, _, addr := startFake(t, Config{})
	c := dial(t, addr)
	roundTrip(t, c, frame(fakePing, nil))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	if err := s.Listen(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{MaxConnections: -1, MaxPendingConnections: -1, MaxPendingPerAddr: -1, MaxSendFrame: -1, MaxFrameMemory: -1}.Validate()
	for _, key := range []string{"max_connections", "max_pending_connections", "max_pending_per_addr", "max_send_frame", "max_frame_memory"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(key)) {
			t.Errorf("Validate does not name %s: %v", key, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond (state changes here have no channel to wait on).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestWriteTimeoutClosesAClientThatDoesNotRead(t *testing.T) {
	s, f, addr := startFake(t, Config{WriteTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	big := frame(fakeEcho, make([]byte, 1<<20))
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 64 { // far more than the socket buffers hold
			if _, err := c.Write(big); err != nil {
				return
			}
		}
	})
	waitFor(t, func() bool { return f.closed.Load() == 1 && s.connCount() == 0 })
	_ = c.Close()
	wg.Wait()
}
