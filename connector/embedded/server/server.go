package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// ErrServerClosed is returned by Serve, Listen and Start once Shutdown or
// Close has been called.
var ErrServerClosed = errors.New("iggy server: closed")

// Defaults applied by Config.withDefaults.
const (
	// DefaultAddr is Iggy's default TCP address.
	DefaultAddr = "127.0.0.1:8090"
	// DefaultMaxConnections caps concurrent logged-in connections.
	DefaultMaxConnections = 1000
	// DefaultMaxPendingConnections caps connections not logged in yet.
	DefaultMaxPendingConnections = 256
	// DefaultMaxPendingPerAddr caps connections not logged in yet from
	// one IP address.
	DefaultMaxPendingPerAddr = 16
	// DefaultLoginTimeout is the time a connection has to log in.
	DefaultLoginTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a logged-in connection silent for this
	// long. Iggy's SDKs send a heartbeat (ping) every 5 s by default.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultReadTimeout bounds receiving one frame after its first byte.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing one response.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxFrameMemory is the in-flight frame memory budget shared
	// by all connections (compare Kafka's queued.max.request.bytes).
	DefaultMaxFrameMemory = 256 << 20
	// DefaultMaxSendFrame caps one SendMessages frame: one maximal message
	// (64 000 000 payload bytes, 100 000 user-header bytes) plus room for
	// the rest of a batch.
	DefaultMaxSendFrame = iggyproto.DefaultMaxSendPayload
	// MaxControlFrame is Iggy's cap on the payload of every command except
	// SendMessages (MAX_CONTROL_FRAME_PAYLOAD, 10 MiB).
	MaxControlFrame = iggyproto.MaxControlPayload
)

// Config configures a Server. The zero value is usable: every zero field
// takes its documented default.
type Config struct {
	// Addr is the TCP address to listen on, "host:port"; port 0 picks a
	// free port (see Server.Addr). Default DefaultAddr.
	Addr string
	// TLS, when non-nil, makes the listener speak TLS with this
	// configuration (it must hold a certificate). Default nil: plain TCP,
	// as Iggy.
	TLS *tls.Config
	// MaxConnections caps the number of logged-in connections; a login
	// above the cap is answered with an error (code 1) and the connection
	// closed. Connections not logged in yet never take these slots.
	// Default DefaultMaxConnections (1000).
	MaxConnections int
	// MaxPendingConnections caps connections that have not logged in yet,
	// from all addresses. When it is reached, a new connection evicts the
	// oldest pending one, so silent connections can never keep a client
	// from reaching login. Default DefaultMaxPendingConnections (256).
	MaxPendingConnections int
	// MaxPendingPerAddr caps connections not logged in yet from one IP
	// address; above it the address's oldest pending connection is
	// evicted. Default DefaultMaxPendingPerAddr (16).
	MaxPendingPerAddr int
	// LoginTimeout is the time a connection has, from accept (TLS
	// handshake included), to log in; then it is closed. Negative: none.
	// Default DefaultLoginTimeout (10 s).
	LoginTimeout time.Duration
	// IdleTimeout closes a logged-in connection that sends no request for
	// this long; keep it well above the clients' heartbeat interval (5 s
	// in Iggy's SDKs). Negative: none (Iggy's behaviour).
	// Default DefaultIdleTimeout (5 min).
	IdleTimeout time.Duration
	// ReadTimeout bounds receiving one whole frame once its first byte
	// arrived; a frame stalled longer is dropped with its connection.
	// Negative: none. Default DefaultReadTimeout (30 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. Negative: none.
	// Default DefaultWriteTimeout (30 s).
	WriteTimeout time.Duration
	// MaxSendFrame caps the payload of one SendMessages frame, in bytes.
	// Iggy has no such cap (only per-message caps); a bigger frame is
	// answered with InvalidCommand (3) and the connection closed at once.
	// Default DefaultMaxSendFrame (128 MiB).
	MaxSendFrame int
	// MaxFrameMemory is the budget, in bytes, for request payloads in
	// flight, shared by all connections. Payloads are buffered as their
	// bytes arrive, in chunks charged to the budget; when it is spent,
	// connections wanting more stop being read (TCP backpressure) until
	// memory is released. Frames of at most 16 KiB are not charged.
	// Must be at least MaxSendFrame. Default DefaultMaxFrameMemory
	// (256 MiB).
	MaxFrameMemory int64
	// Logger receives connection and error logs. Default: discard.
	Logger *slog.Logger
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max_connections: %d is negative", c.MaxConnections))
	}
	if c.MaxPendingConnections < 0 {
		errs = append(errs, fmt.Errorf("max_pending_connections: %d is negative", c.MaxPendingConnections))
	}
	if c.MaxPendingPerAddr < 0 {
		errs = append(errs, fmt.Errorf("max_pending_per_addr: %d is negative", c.MaxPendingPerAddr))
	}
	if c.MaxSendFrame < 0 {
		errs = append(errs, fmt.Errorf("max_send_frame: %d is negative", c.MaxSendFrame))
	}
	if c.MaxFrameMemory < 0 {
		errs = append(errs, fmt.Errorf("max_frame_memory: %d is negative", c.MaxFrameMemory))
	}
	if d := c.withDefaults(); d.MaxFrameMemory < int64(d.MaxSendFrame) {
		errs = append(errs, fmt.Errorf("max_frame_memory: %d is below max_send_frame %d", d.MaxFrameMemory, d.MaxSendFrame))
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		errs = append(errs, errors.New("tls: no certificate"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxPendingConnections == 0 {
		c.MaxPendingConnections = DefaultMaxPendingConnections
	}
	if c.MaxPendingPerAddr == 0 {
		c.MaxPendingPerAddr = DefaultMaxPendingPerAddr
	}
	c.LoginTimeout = orDefault(c.LoginTimeout, DefaultLoginTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.ReadTimeout = orDefault(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	if c.MaxSendFrame == 0 {
		c.MaxSendFrame = DefaultMaxSendFrame
	}
	if c.MaxFrameMemory == 0 {
		c.MaxFrameMemory = max(DefaultMaxFrameMemory, int64(c.MaxSendFrame))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// orDefault maps 0 to def and a negative duration to 0 (none).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// backend opens one session per connection. The broker-backed
// implementation is in dispatch.go; lifecycle tests use a fake.
type backend interface {
	// open registers a session for a new connection from remote.
	open(remote net.Addr) (session, error)
}

// session serves one connection's requests, one at a time.
type session interface {
	// handle answers one request: it returns the OK response payload
	// (built by appending to out, which it may reuse), or an error whose
	// Iggy code is sent. payload is only valid until handle returns.
	handle(code uint32, payload []byte, out []byte) (reply, error)
	// authenticated reports whether the session is logged in now.
	authenticated() bool
	// close ends the session (the broker forgets the client and its group
	// memberships). Called exactly once, after the last handle.
	close()
}

// reply is an OK response payload: head followed by tail (tail lets a big
// body, such as polled messages, be written without copying it after its
// head).
type reply struct {
	head, tail []byte
	// tailBuf, if not nil, holds tail's buffer: it goes back to bigBufs
	// once the response is written.
	tailBuf *[]byte
}

func (r reply) size() int { return len(r.head) + len(r.tail) }

// Server is the Iggy TCP protocol server. It is safe for concurrent use.
// The zero value is not usable; call New.
type Server struct {
	cfg     Config
	log     *slog.Logger
	backend backend

	mu        sync.Mutex
	ln        net.Listener
	addr      *net.TCPAddr
	conns     map[*conn]struct{}
	authed    int                // logged-in connections (MaxConnections)
	pending   []*conn            // not logged in yet, oldest first
	pendingBy map[string][]*conn // pending by remote IP, oldest first
	budget    *memBudget         // in-flight frame memory
	kill      chan struct{}      // closed when connections are closed forcibly
	killOnce  sync.Once
	serving   bool
	closed    bool          // Shutdown or Close called
	closing   atomic.Bool   // mirrors closed, read by connections without mu
	done      chan struct{} // closed when Shutdown or Close starts
	wg        sync.WaitGroup
	serveDone chan struct{} // closed when the Start goroutine ends
}

func newServer(b backend, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("iggy server config: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "iggy-server"),
		backend:   b,
		conns:     make(map[*conn]struct{}),
		pendingBy: make(map[string][]*conn),
		budget:    newMemBudget(cfg.MaxFrameMemory),
		kill:      make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

// Listen binds the listener on Config.Addr (TLS if configured). It does not
// accept connections yet; Addr reports the bound address from now on.
// Calling it twice is an error.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.ln != nil {
		return errors.New("iggy server: already listening")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("iggy server: listen %s: %w", s.cfg.Addr, err)
	}
	s.addr, _ = ln.Addr().(*net.TCPAddr)
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() *net.TCPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Serve accepts connections until Shutdown or Close, then returns
// ErrServerClosed. It calls Listen first if needed. Any other return is a
// listener failure. Serve may be called once.
func (s *Server) Serve() error {
	s.mu.Lock()
	needListen := s.ln == nil
	s.mu.Unlock()
	if needListen {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.serving {
		s.mu.Unlock()
		return errors.New("iggy server: already serving")
	}
	s.serving = true
	ln := s.ln
	s.mu.Unlock()

	s.log.Info("accepting connections", "addr", ln.Addr().String(), "tls", s.cfg.TLS != nil)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
				}
				continue
			}
			return fmt.Errorf("iggy server: accept: %w", err)
		}
		backoff = 0
		s.accept(nc)
	}
}

// isTemporary reports accept errors worth retrying (out of file
// descriptors, aborted connections).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Start calls Listen and runs Serve in a goroutine owned by the server
// (Shutdown and Close wait for it). It returns the bound address.
func (s *Server) Start() (*net.TCPAddr, error) {
	if err := s.Listen(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.serveDone != nil {
		s.mu.Unlock()
		return nil, errors.New("iggy server: already started")
	}
	s.serveDone = make(chan struct{})
	done := s.serveDone
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := s.Serve(); err != nil && !errors.Is(err, ErrServerClosed) {
			s.log.Error("serve stopped", "err", err)
		}
	}()
	return s.Addr(), nil
}

// accept registers a new connection and starts its goroutine.
func (s *Server) accept(nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.addPendingLocked(c)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		c.serve()
	}()
}

// addPendingLocked registers c as not logged in, first evicting the
// oldest pending connection of its address, or of all, when a cap is
// reached. The evicted connection is closed at once and no longer counted.
func (s *Server) addPendingLocked(c *conn) {
	if same := s.pendingBy[c.ip]; len(same) >= s.cfg.MaxPendingPerAddr {
		s.evictLocked(same[0], "max_pending_per_addr")
	}
	if len(s.pending) >= s.cfg.MaxPendingConnections {
		s.evictLocked(s.pending[0], "max_pending_connections")
	}
	c.state = statePending
	s.pending = append(s.pending, c)
	s.pendingBy[c.ip] = append(s.pendingBy[c.ip], c)
}

func (s *Server) evictLocked(c *conn, limit string) {
	s.dropPendingLocked(c)
	c.state = stateEvicted
	c.log.Info("closed a connection that had not logged in: pending limit reached", "limit", limit)
	_ = c.nc.Close()
}

func (s *Server) dropPendingLocked(c *conn) {
	s.pending = removeConn(s.pending, c)
	if rest := removeConn(s.pendingBy[c.ip], c); len(rest) > 0 {
		s.pendingBy[c.ip] = rest
	} else {
		delete(s.pendingBy, c.ip)
	}
}

func removeConn(cs []*conn, c *conn) []*conn {
	for i, x := range cs {
		if x == c {
			return append(cs[:i], cs[i+1:]...)
		}
	}
	return cs
}

// promote moves c from pending to logged in. It reports false, leaving c
// pending, when all MaxConnections slots are taken or c was evicted.
func (s *Server) promote(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.state != statePending || s.authed >= s.cfg.MaxConnections {
		return false
	}
	s.dropPendingLocked(c)
	c.state = stateAuthed
	s.authed++
	return true
}

// demote moves a logged-in c back to pending (after a logout).
func (s *Server) demote(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.state == stateAuthed {
		s.authed--
		s.addPendingLocked(c)
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	switch c.state {
	case statePending:
		s.dropPendingLocked(c)
	case stateAuthed:
		s.authed--
	}
	c.state = stateGone
	s.mu.Unlock()
}

// beginClose marks the server closed and closes the listener. It returns
// false if it was already closed.
func (s *Server) beginClose() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	s.closing.Store(true)
	close(s.done)
	if s.ln != nil {
		_ = s.ln.Close()
	}
	return true
}

// Shutdown stops the server gracefully: it stops accepting, closes idle
// connections at once, lets every request in flight finish and have its
// response written, then closes those connections too, and waits for all
// the server's goroutines. If ctx ends first, the remaining connections are
// closed forcibly (as Close) and ctx's error is returned after they are
// gone. Calling it again (or after Close) waits the same way.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginClose()
	s.mu.Lock()
	for c := range s.conns {
		c.kickIfIdle()
	}
	s.mu.Unlock()

	waited := make(chan struct{})
	go func() {
		s.wait()
		close(waited)
	}()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		s.closeConns()
		<-waited
		return ctx.Err()
	}
}

// Close stops the server at once: it closes the listener and every
// connection (a request in flight may lose its response) and waits for the
// server's goroutines. It is idempotent.
func (s *Server) Close() error {
	s.beginClose()
	s.closeConns()
	s.wait()
	return nil
}

func (s *Server) closeConns() {
	s.killOnce.Do(func() { close(s.kill) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
}

func (s *Server) wait() {
	s.wg.Wait()
	s.mu.Lock()
	done := s.serveDone
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// pendingCount returns the number of connections not logged in (tests).
func (s *Server) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// connCount returns the number of open connections (tests).
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
