package embedded

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

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// ShutdownTimeout bounds how long Close lets the TCP listener's requests in
// flight finish before it closes their connections.
const ShutdownTimeout = 10 * time.Second

// Broker is the stream port (core.Broker) served by the embedded broker in
// this process. Create it with Open. It is safe for concurrent use: sends
// to different partitions run in parallel, sends to one partition are
// grouped into one write by the log store. Close releases it.
type Broker struct {
	cfg Config
	log *slog.Logger
	b   *broker.Broker
	sys *broker.Session // root session for every non-member call
	srv *server.Server  // nil without TCPAddr
	tcp string          // bound listener address, "" without one

	closed    atomic.Bool
	done      chan struct{} // closed by Close (wakes waiting polls)
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	members map[*Member]struct{}
}

var _ core.Broker = (*Broker)(nil)

// Open validates cfg, opens (or creates) the broker in cfg.DataDir
// (recovering every partition), opens a root session for the connector's
// calls and, when cfg.TCPAddr is set, starts the Iggy TCP listener on it.
// ctx bounds the open: if it ends, everything opened is closed again and
// ctx's error is returned. On any error nothing stays open. Errors: a bad
// configuration wraps core.ErrInvalid; a listener that cannot bind wraps
// core.ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("embedded: config: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	cfg = cfg.withDefaults()
	var tlsCfg *tls.Config
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("embedded: tls_cert_file/tls_key_file: %w: %w", core.ErrInvalid, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	log := cfg.Logger.With("component", "embedded")
	bk, err := broker.Open(cfg.brokerConfig())
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", cfg.DataDir, err)
	}
	b := &Broker{
		cfg:     cfg,
		log:     log,
		b:       bk,
		sys:     bk.NewSystemSession("embedded"),
		members: make(map[*Member]struct{}),
		done:    make(chan struct{}),
	}
	if cfg.TCPAddr != "" && !IsLoopback(cfg.TCPAddr) && bk.RootPasswordIsDefault() {
		_ = bk.Close()
		return nil, fmt.Errorf("embedded: tcp listener on %s (not loopback) while the root user has the default password; "+
			"set root_password or IGGY_ROOT_PASSWORD before the data directory is created: %w", cfg.TCPAddr, core.ErrInvalid)
	}
	if cfg.TCPAddr != "" {
		srv, err := server.New(bk, server.Config{Addr: cfg.TCPAddr, TLS: tlsCfg, Logger: cfg.Logger,
			LoginTimeout: cfg.LoginTimeout, IdleTimeout: cfg.IdleTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			MaxConnections: cfg.MaxConnections, MaxPendingConnections: cfg.MaxPendingConnections,
			MaxPendingPerAddr: cfg.MaxPendingPerAddr, MaxFrameMemory: cfg.MaxFrameMemory})
		if err != nil {
			_ = bk.Close()
			return nil, fmt.Errorf("embedded: tcp listener: %w: %w", core.ErrInvalid, err)
		}
		addr, err := srv.Start()
		if err != nil {
			_ = srv.Close()
			_ = bk.Close()
			return nil, fmt.Errorf("embedded: tcp listener on %s: %w: %w", cfg.TCPAddr, core.ErrUnavailable, err)
		}
		b.srv, b.tcp = srv, addr.String()
	}
	if err := ctx.Err(); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "embedded broker open", slog.Any("config", cfg), slog.String("listening", b.tcp))
	return b, nil
}

// TCPAddr returns the address the Iggy TCP listener is bound to ("host:port",
// with the port chosen when Config.TCPAddr asked for port 0), or "" when
// the broker has no listener.
func (b *Broker) TCPAddr() string { return b.tcp }

// Close leaves every group member's group and ends its session, shuts the
// TCP listener down (requests in flight finish, for up to ShutdownTimeout),
// then flushes, syncs and closes the broker. Calls made after Close return
// core.ErrClosed. It is idempotent: later calls return the first result.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.done)
		var errs []error
		if b.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			if err := b.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("embedded: shut the tcp listener down: %w", err))
			}
			cancel()
		}
		b.mu.Lock()
		members := b.members
		b.members = nil
		b.mu.Unlock()
		for m := range members {
			m.end()
		}
		b.b.CloseSession(b.sys)
		if err := b.b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("embedded: close the broker: %w", err))
		}
		b.closeErr = errors.Join(errs...)
		b.log.LogAttrs(context.Background(), slog.LevelInfo, "embedded broker closed", slog.Any("error", b.closeErr))
	})
	return b.closeErr
}

// enter checks that a call may start: the connector is open and ctx has
// not ended.
func (b *Broker) enter(ctx context.Context) error {
	if b.closed.Load() {
		return core.ErrClosed
	}
	return ctx.Err()
}

// fail maps a broker error: once the connector is closed, the broker's
// "disconnected" and "client not found" answers become core.ErrClosed.
func (b *Broker) fail(err error) error {
	if b.closed.Load() {
		switch iggyproto.CodeOf(err) {
		case iggyproto.CodeDisconnected, iggyproto.CodeClientNotFound:
			return fmt.Errorf("%w: %w", core.ErrClosed, err)
		}
	}
	return err
}

// Ping implements core.Broker: it checks that the broker is open and
// returns the time the check took.
func (b *Broker) Ping(ctx context.Context) (time.Duration, error) {
	if err := b.enter(ctx); err != nil {
		return 0, fmt.Errorf("embedded: ping: %w", err)
	}
	start := time.Now()
	if err := b.b.Ping(b.sys); err != nil {
		return 0, fmt.Errorf("embedded: ping: %w", b.fail(err))
	}
	return time.Since(start), nil
}

// IsLoopback reports whether the host of addr ("host:port") only reaches
// this machine: a loopback IP or "localhost". An empty host (all
// interfaces), another name or a malformed address is not. Open refuses a
// TCP listener off loopback while the root user has the default password;
// the serve command makes the same check.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
