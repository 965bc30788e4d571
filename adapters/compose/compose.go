// Package compose is rustok-iggy's composition root: one call turns a
// loaded configuration into a transport over the right connector.
//
//	New(ctx, cfg, logger)  validate; codec by serialization; transport over a
//	                       broker that is not connected yet; Prometheus hooks;
//	                       HTTP handler; health checker (no I/O)
//	App.Start(ctx)         open the connector by mode (embedded: data_dir,
//	                       fsync, Iggy TCP listener on bind_address:tcp_port;
//	                       remote: addresses, credentials, TLS, timeouts),
//	                       ensure the topology, serve /health, /metrics and
//	                       /ping on bind_address:http_port (embedded mode,
//	                       http_port != 0); with events.outbox.enabled open
//	                       the outbox database (migrated) and start its
//	                       relay through the transport
//	App.Transport()        publish, subscribe, replay, DLQ, health
//	App.Outbox()           the outbox database, writer and relay
//	App.Shutdown(ctx)      stop the relay (its publish in flight finishes and
//	                       is marked, its lock is released), drain the
//	                       transport, stop HTTP, close the connector
//
// The fx module in package iggyfx wraps an App for go.uber.org/fx.
package compose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/adapters/otelenv"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"go.opentelemetry.io/otel/metric"
)

// HTTPReadHeaderTimeout bounds reading a request's headers on the HTTP
// listener.
const HTTPReadHeaderTimeout = 10 * time.Second

// Option adjusts New.
type Option func(*options)

type options struct {
	hooks        []transport.Hooks
	tOpts        []transport.Option
	portFallback bool
	noTCP        bool
	httpAddr     *string
	telemetry    *otelenv.Providers
	noRelay      bool
}

// WithHooks adds instrumentation hooks next to the App's Prometheus
// metrics; each hook receives every event.
func WithHooks(h ...transport.Hooks) Option {
	return func(o *options) { o.hooks = append(o.hooks, h...) }
}

// WithTransportOptions passes options to transport.New (after the App's
// own: codecs and hooks).
func WithTransportOptions(opts ...transport.Option) Option {
	return func(o *options) { o.tOpts = append(o.tOpts, opts...) }
}

// WithTelemetry gives the transport p's tracer and meter providers and
// propagator (see otelenv.New), and makes Shutdown flush and stop them
// last, once the transport has drained.
func WithTelemetry(p *otelenv.Providers) Option { return func(o *options) { o.telemetry = p } }

// WithPortFallback makes Start listen on a free port instead when the
// configured embedded tcp_port or http_port is taken; Notices says so.
func WithPortFallback() Option { return func(o *options) { o.portFallback = true } }

// WithoutTCPListener makes the embedded broker open no Iggy TCP listener,
// for short-lived tools that need only the in-process connector.
func WithoutTCPListener() Option { return func(o *options) { o.noTCP = true } }

// WithoutOutboxRelay makes an App with events.outbox.enabled open the
// outbox (App.Outbox, its health and metrics) but run no relay, for
// short-lived tools and for deployments that run `rustok-iggy outbox
// relay` on their own.
func WithoutOutboxRelay() Option { return func(o *options) { o.noRelay = true } }

// WithHTTPAddr serves the HTTP API on addr ("host:port", port 0 = a free
// port) in either mode, instead of embedded.bind_address:http_port; ""
// turns the HTTP listener off.
func WithHTTPAddr(addr string) Option { return func(o *options) { o.httpAddr = &addr } }

// App is a transport wired to its connector, codec, metrics and HTTP API.
// Create it with New, call Start, end it with Shutdown. Its methods are
// safe for concurrent use; TCPAddr, HTTPAddr, Notices and Describe wait
// for a Start in progress.
type App struct {
	cfg     config.Config
	opts    options
	log     *slog.Logger // component compose
	base    *slog.Logger // as given, for the connectors
	broker  *lateBroker
	tr      *transport.Transport
	metrics *httpapi.Metrics
	handler *httpapi.Handler
	checker *HealthChecker
	obw     *outbox.Outbox // events.outbox writer; nil unless enabled

	mu       sync.Mutex // serialises Start and Shutdown
	conn     core.Broker
	tcpAddr  string
	srv      *http.Server
	httpAddr string
	srvDone  chan struct{}
	notices  []string
	started  atomic.Bool
	ready    chan struct{}
	lastErr  atomic.Pointer[error]
	shutdown bool
	ob       atomic.Pointer[Outbox] // opened by Start when enabled
}

// New validates cfg and builds the App: the codec named by serialization
// (JSON and CBOR are both registered for decoding), the transport (config
// mapped by TransportConfig) over a broker that Start connects, the
// Prometheus metrics as the transport's hooks, the HTTP handler and the
// health checker. It does no I/O; ctx is only checked. A nil logger
// discards logs. Errors wrap core.ErrInvalid and name the YAML keys.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*App, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: logger.With("component", "compose"), base: logger, broker: &lateBroker{}, ready: make(chan struct{})}
	for _, o := range opts {
		o(&a.opts)
	}
	c, err := codec.ByName(string(cfg.Events.Iggy.Serialization))
	if err != nil {
		return nil, fmt.Errorf("compose: events.iggy.serialization: %w", err)
	}
	if a.metrics, err = httpapi.NewMetrics(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	var hooks transport.Hooks = a.metrics
	if len(a.opts.hooks) > 0 {
		hooks = append(multiHooks{a.metrics}, a.opts.hooks...)
	}
	tOpts := []transport.Option{transport.WithCodecs(codec.JSON{}, codec.CBOR{}), transport.WithHooks(hooks)}
	if a.opts.telemetry != nil {
		tOpts = append(tOpts, a.opts.telemetry.TransportOptions()...)
	}
	tOpts = append(tOpts, a.opts.tOpts...)
	a.tr, err = transport.New(TransportConfig(cfg), a.broker, c, logger, tOpts...)
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if cfg.Events.Outbox.Enabled {
		if a.obw, err = NewOutboxWriter(cfg); err != nil {
			return nil, err
		}
	}
	a.checker = &HealthChecker{app: a}
	a.handler = httpapi.New(httpapi.Config{Health: a.checker.Check, Metrics: a.metrics, Logger: logger})
	return a, nil
}

// Config returns the configuration the App was built with.
func (a *App) Config() config.Config { return a.cfg }

// Transport returns the transport. Publishing and subscribing work once
// Start succeeded (before that they fail with transport.ErrNotStarted).
func (a *App) Transport() *transport.Transport { return a.tr }

// OutboxWriter returns the writer of the events.outbox table (dialect,
// table and codec of the configuration), for writing events into the
// application's own transactions, or nil when events.outbox.enabled is
// false. It needs no Start.
func (a *App) OutboxWriter() *outbox.Outbox { return a.obw }

// Outbox returns the outbox Start opened (events.outbox.enabled): its
// database handle, writer and relay. It is nil before Start succeeded and
// when the outbox is not enabled.
func (a *App) Outbox() *Outbox { return a.ob.Load() }

// Broker returns the stream port the transport uses: before Start it
// answers core.ErrUnavailable, afterwards it forwards to the connector.
// Shutdown closes it.
func (a *App) Broker() core.Broker { return a.broker }

// Metrics returns the hooks the transport reports to: OpenTelemetry
// instruments served as Prometheus text on /metrics.
func (a *App) Metrics() *httpapi.Metrics { return a.metrics }

// Handler returns the HTTP API (/health, /metrics, /ping), to mount in an
// application's own server.
func (a *App) Handler() http.Handler { return a.handler }

// Health returns the health checker.
func (a *App) Health() *HealthChecker { return a.checker }

// Ready is closed once Start succeeded.
func (a *App) Ready() <-chan struct{} { return a.ready }

// Started reports whether Start succeeded.
func (a *App) Started() bool { return a.started.Load() }

// LastStartError returns the error of the last failed Start, or nil.
func (a *App) LastStartError() error {
	if p := a.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// TCPAddr returns the address the embedded broker's Iggy TCP listener is
// bound to, or "" (remote mode, no listener, or before Start).
func (a *App) TCPAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tcpAddr
}

// HTTPAddr returns the address the HTTP API listens on, or "" when it is
// off or before Start.
func (a *App) HTTPAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.httpAddr
}

// Notices returns what Start did differently from the configuration (a
// taken port replaced by a free one, see WithPortFallback).
func (a *App) Notices() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.notices...)
}

// Start connects the connector (once; a failed Start may be called again),
// ensures the topology and starts the HTTP listener. ctx bounds this call
// only. Errors say which step failed; a bad configuration or rejected
// credentials wrap core.ErrInvalid or core.ErrUnauthenticated (retrying
// will not help), an unreachable broker core.ErrUnavailable.
func (a *App) Start(ctx context.Context) (err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer func() {
		if err != nil {
			a.lastErr.Store(&err)
		} else {
			a.lastErr.Store(nil)
		}
	}()
	if a.shutdown {
		return fmt.Errorf("compose: start: %w", core.ErrClosed)
	}
	if a.conn == nil {
		conn, err := a.connect(ctx)
		if err != nil {
			return err
		}
		a.conn = conn
		a.broker.set(conn)
	}
	if err := a.tr.Start(ctx); err != nil {
		return fmt.Errorf("compose: start transport: %w", err)
	}
	if a.obw != nil && a.ob.Load() == nil {
		if err := a.startOutbox(ctx); err != nil {
			return err
		}
	}
	if a.srv == nil {
		if err := a.serveHTTP(); err != nil {
			return err
		}
	}
	if a.started.CompareAndSwap(false, true) {
		close(a.ready)
		a.log.LogAttrs(ctx, slog.LevelInfo, "started", slog.String("mode", string(a.cfg.Events.Iggy.Mode)),
			slog.String("stream", a.cfg.Events.Iggy.Topology.StreamName), slog.String("tcp", a.tcpAddr), slog.String("http", a.httpAddr))
	}
	return nil
}

// startOutbox opens the outbox database, starts the relay (unless
// WithoutOutboxRelay) and registers its metrics.
func (a *App) startOutbox(ctx context.Context) error {
	ob, err := OpenOutbox(ctx, a.cfg, a.base)
	if err != nil {
		return err
	}
	if !a.opts.noRelay {
		if _, err := ob.StartRelay(ctx, a.tr, a.broker); err != nil {
			_ = ob.Shutdown(context.WithoutCancel(ctx))
			return fmt.Errorf("compose: start outbox relay: %w", err)
		}
	}
	mps := []metric.MeterProvider{a.metrics.MeterProvider()}
	if a.opts.telemetry != nil {
		mps = append(mps, a.opts.telemetry.MeterProvider)
	}
	if err := ob.RegisterMetrics(mps...); err != nil {
		_ = ob.Shutdown(context.WithoutCancel(ctx))
		return fmt.Errorf("compose: %w", err)
	}
	a.ob.Store(ob)
	return nil
}

func (a *App) connect(ctx context.Context) (core.Broker, error) {
	ig := a.cfg.Events.Iggy
	switch ig.Mode {
	case config.ModeRemote:
		rc := RemoteConfig(a.cfg)
		rc.Logger = a.base
		b, err := remote.New(ctx, rc)
		if err != nil {
			return nil, fmt.Errorf("compose: remote mode, connect to %v as %q: %w", rc.Addresses, rc.Username, err)
		}
		return b, nil
	default:
		ec := EmbeddedConfig(a.cfg)
		ec.Logger = a.base
		if a.opts.noTCP {
			ec.TCPAddr = ""
		}
		b, err := embedded.Open(ctx, ec)
		if err != nil && ec.TCPAddr != "" && a.opts.portFallback && ig.Embedded.TCPPort != 0 && errors.Is(err, core.ErrUnavailable) {
			want := ec.TCPAddr
			ec.TCPAddr = net.JoinHostPort(ig.Embedded.BindAddress, "0")
			if b, err = embedded.Open(ctx, ec); err == nil {
				a.notices = append(a.notices, fmt.Sprintf("tcp port %d is taken; the Iggy TCP listener is on %s instead of %s", ig.Embedded.TCPPort, b.TCPAddr(), want))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("compose: embedded mode, data_dir %s: %w", ec.DataDir, err)
		}
		a.tcpAddr = b.TCPAddr()
		return b, nil
	}
}

// serveHTTP starts the HTTP listener when one is configured.
func (a *App) serveHTTP() error {
	addr := ""
	if a.cfg.Events.Iggy.Mode == config.ModeEmbedded {
		addr = HTTPAddr(a.cfg)
	}
	if a.opts.httpAddr != nil {
		addr = *a.opts.httpAddr
	}
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && a.opts.portFallback && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err == nil {
			a.notices = append(a.notices, fmt.Sprintf("http port of %s is taken; the HTTP API is on %s instead", addr, ln.Addr()))
		}
	}
	if err != nil {
		kind := core.ErrUnavailable
		if _, ok := errors.AsType[*net.AddrError](err); ok {
			kind = core.ErrInvalid
		}
		return fmt.Errorf("compose: http listener on %s (embedded.http_port; 0 turns it off): %w: %w", addr, kind, err)
	}
	var h http.Handler = a.handler
	if eb, ok := a.conn.(*embedded.Broker); ok {
		// Embedded mode: Iggy's HTTP API on the same listener, with
		// rustok's /health and /metrics beside it.
		cluster := httpserver.ClusterInfo{}
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
			cluster.HTTPPort = uint16(tcp.Port)
		}
		hc := HTTPServerConfig(a.cfg)
		hc.Rustok, hc.Cluster, hc.Logger = a.handler, cluster, a.base
		ih, err := eb.HTTPHandler(hc)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("compose: iggy http api: %w", err)
		}
		h = ih
	}
	a.srv = &http.Server{Handler: h, ReadHeaderTimeout: HTTPReadHeaderTimeout,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	a.httpAddr = ln.Addr().String()
	a.srvDone = make(chan struct{})
	srv, done := a.srv, a.srvDone
	go func() { // owned by the App: Shutdown stops it and waits for done
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// Shutdown drains the transport (subscriptions finish their handlers, the
// async buffer is flushed), stops the HTTP listener and closes the
// connector, all within ctx. It waits for a Start in progress first. It is
// idempotent: later calls do nothing and return nil.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.shutdown {
		return nil
	}
	a.shutdown = true
	var errs []error
	if ob := a.ob.Load(); ob != nil {
		// First, while the transport still publishes: the relay's batch in
		// flight is stored and marked.
		if err := ob.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := a.tr.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.srv != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			_ = a.srv.Close()
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		<-a.srvDone
	}
	if err := a.broker.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close connector: %w", err))
	}
	if err := a.metrics.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("metrics shutdown: %w", err))
	}
	if a.opts.telemetry != nil {
		if err := a.opts.telemetry.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("compose: shutdown: %w", errors.Join(errs...))
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "shut down")
	return nil
}

// Describe returns a one-line description of where the App's broker is:
// "embedded, data dir ./data/iggy, Iggy TCP on 127.0.0.1:8090" or "remote,
// 10.0.0.5:8090 as user iggy".
func (a *App) Describe() string {
	ig := a.cfg.Events.Iggy
	if ig.Mode == config.ModeRemote {
		return fmt.Sprintf("remote, %v as user %s", ig.Remote.Addresses, strconv.Quote(ig.Remote.Username))
	}
	s := "embedded, data dir " + ig.Embedded.DataDir
	if t := a.TCPAddr(); t != "" {
		s += ", Iggy TCP on " + t
	}
	return s
}
