// Package iggyfx is the go.uber.org/fx module of rustok-iggy.
//
//	fx.New(
//		iggyfx.Module(iggyfx.WithConfigFile("config/events.yaml")),
//		fx.Invoke(func(t core.EventTransport) { ... }),
//	)
//
// The module provides config.Config, *compose.App, *transport.Transport,
// core.EventTransport, *compose.HealthChecker and *outbox.Outbox (the
// writer of the events.outbox table, App.OutboxWriter; nil unless
// events.outbox.enabled). The configuration comes
// from WithConfig, else the file given to WithConfigFile, else the file
// named by RUSTOK_IGGY_CONFIG, else config.Default(). A *slog.Logger in the
// graph is used when there is one.
//
// Lifecycle: OnStart does not block. It starts a goroutine that calls
// App.Start (connect, ensure the topology, serve HTTP) and retries failures
// with backoff (StartRetryMin doubling up to StartRetryMax); an error that
// retrying cannot fix (bad configuration, rejected credentials) is logged
// and shuts the fx application down with exit code 1. Until the start
// succeeded, publishing fails with transport.ErrNotStarted and the health
// checker reports Unhealthy; wait on App.Ready (or WaitReady) before
// publishing from a start hook. OnStop stops the retries and calls
// App.Shutdown with the stop context, so draining is bounded by fx's stop
// timeout.
//
// Outbox: with events.outbox.enabled, App.Start (so the background start)
// opens the outbox database and starts its relay; an unreachable database
// is retried like an unreachable broker. App.Outbox gives the database
// handle once ready. OnStop stops the relay first: its publish in flight
// finishes and is marked, then its lock is released for a standby relay,
// then the transport drains. /health and /metrics show the relay.
//
// Telemetry: unless WithoutOTelEnv, the transport traces and records
// metrics as the standard OTEL_* environment says (OTEL_TRACES_EXPORTER,
// OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
// ...; see package otelenv); nothing is exported when those are unset.
// App.Shutdown, so OnStop, flushes the exporters. The otel globals are
// never set.
package iggyfx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/otelenv"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// ModuleName is the fx module's name.
const ModuleName = "rustok-iggy"

// Backoff bounds of the background start's retries.
const (
	StartRetryMin = 100 * time.Millisecond
	StartRetryMax = 5 * time.Second
)

// Option configures Module.
type Option func(*options)

type options struct {
	cfg     *config.Config
	path    string
	compose []compose.Option
	noEnv   bool
}

// WithoutOTelEnv stops the module from building OpenTelemetry providers
// from the OTEL_* environment (see otelenv), for an application that hands
// its own to the transport (WithComposeOptions with
// compose.WithTransportOptions and transport.WithTracerProvider, ...).
func WithoutOTelEnv() Option { return func(o *options) { o.noEnv = true } }

// WithConfig uses cfg as the configuration (it is validated by New).
func WithConfig(cfg config.Config) Option { return func(o *options) { o.cfg = &cfg } }

// WithConfigFile loads the configuration from a YAML file.
func WithConfigFile(path string) Option { return func(o *options) { o.path = path } }

// WithComposeOptions passes options to compose.New.
func WithComposeOptions(opts ...compose.Option) Option {
	return func(o *options) { o.compose = append(o.compose, opts...) }
}

// Module returns the fx module. See the package documentation for what it
// provides and its lifecycle.
func Module(opts ...Option) fx.Option {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return fx.Module(ModuleName,
		fx.Provide(
			func() (config.Config, error) { return loadConfig(o) },
			func(p appParams) (*compose.App, error) { return newApp(p, o) },
			func(a *compose.App) *transport.Transport { return a.Transport() },
			func(t *transport.Transport) core.EventTransport { return t },
			func(a *compose.App) *compose.HealthChecker { return a.Health() },
			func(a *compose.App) *outbox.Outbox { return a.OutboxWriter() },
		),
	)
}

func loadConfig(o options) (config.Config, error) {
	switch {
	case o.cfg != nil:
		return *o.cfg, nil
	case o.path != "":
		return config.Load(o.path)
	default:
		return config.LoadFromEnv()
	}
}

type appParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Config     config.Config
	Logger     *slog.Logger `optional:"true"`
}

func newApp(p appParams, o options) (*compose.App, error) {
	copts := o.compose
	var tel *otelenv.Providers
	if !o.noEnv {
		var err error
		if tel, err = otelenv.New(context.Background(), ModuleName); err != nil {
			return nil, err
		}
		copts = append([]compose.Option{compose.WithTelemetry(tel)}, copts...)
	}
	app, err := compose.New(context.Background(), p.Config, p.Logger, copts...)
	if err != nil {
		if tel != nil {
			_ = tel.Shutdown(context.Background())
		}
		return nil, err
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &starter{app: app, sd: p.Shutdowner, log: log.With("component", "iggyfx")}
	p.Lifecycle.Append(fx.Hook{OnStart: s.onStart, OnStop: s.onStop})
	return app, nil
}

// starter owns the background start goroutine: onStart launches it, onStop
// cancels it and waits for it before shutting the App down.
type starter struct {
	app    *compose.App
	sd     fx.Shutdowner
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *starter) onStart(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { s.run(ctx) })
	return nil
}

func (s *starter) run(ctx context.Context) {
	pause := StartRetryMin
	for {
		err := s.app.Start(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if compose.Permanent(err) {
			s.log.Error("rustok-iggy cannot start; shutting the application down", "error", err)
			if serr := s.sd.Shutdown(fx.ExitCode(1)); serr != nil {
				s.log.Error("fx shutdown", "error", serr)
			}
			return
		}
		s.log.Warn("rustok-iggy start failed; retrying", "error", err, "in", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(pause*2, StartRetryMax)
	}
}

func (s *starter) onStop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return s.app.Shutdown(ctx)
}

// WaitReady waits until app started or ctx ended; then it returns ctx's
// error together with the last start error.
func WaitReady(ctx context.Context, app *compose.App) error {
	select {
	case <-app.Ready():
		return nil
	case <-ctx.Done():
		if err := app.LastStartError(); err != nil {
			return fmt.Errorf("rustok-iggy not started: %w (last start error: %w)", context.Cause(ctx), err)
		}
		return fmt.Errorf("rustok-iggy not started: %w", context.Cause(ctx))
	}
}
