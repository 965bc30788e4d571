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
	// DefaultMaxConnections caps concurrent connections.
	DefaultMaxConnections = 1000
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
	// MaxConnections caps the number of open connections; a connection
	// accepted above the cap is closed at once. Default 1000.
	MaxConnections int
	// IdleTimeout closes a connection that sends no request for this long
	// (and bounds the time to receive the rest of a frame). Default 0: no
	// timeout, as Iggy (the Go SDK pings every 5 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one response. Default 0: none, as Iggy.
	WriteTimeout time.Duration
	// MaxSendFrame caps the payload of one SendMessages frame, in bytes.
	// Iggy has no such cap (only per-message caps); a bigger frame is
	// read and discarded and answered with InvalidCommand (3).
	// Default DefaultMaxSendFrame (128 MiB).
	MaxSendFrame int
	// Logger receives connection and error logs. Default: discard.
	Logger *slog.Logger
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max_connections: %d is negative", c.MaxConnections))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle_timeout: %v is negative", c.IdleTimeout))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("write_timeout: %v is negative", c.WriteTimeout))
	}
	if c.MaxSendFrame < 0 {
		errs = append(errs, fmt.Errorf("max_send_frame: %d is negative", c.MaxSendFrame))
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
	if c.MaxSendFrame == 0 {
		c.MaxSendFrame = DefaultMaxSendFrame
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
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
	// close ends the session (the broker forgets the client and its group
	// memberships). Called exactly once, after the last handle.
	close()
}

// reply is an OK response payload: head followed by tail (tail lets a big
// body, such as polled messages, be written without copying it after its
// head).
type reply struct {
	head, tail []byte
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
		cfg:     cfg,
		log:     cfg.Logger.With("component", "iggy-server"),
		backend: b,
		conns:   make(map[*conn]struct{}),
		done:    make(chan struct{}),
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
	if len(s.conns) >= s.cfg.MaxConnections {
		s.mu.Unlock()
		s.log.Warn("connection refused: too many connections", "remote", nc.RemoteAddr().String(), "max", s.cfg.MaxConnections)
		_ = nc.Close()
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		c.serve()
	}()
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
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

// connCount returns the number of open connections (tests).
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
