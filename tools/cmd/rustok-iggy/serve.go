package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
)

// Environment variables naming the root user created on the first start,
// as Iggy reads them.
const (
	envRootUsername = "IGGY_ROOT_USERNAME"
	envRootPassword = "IGGY_ROOT_PASSWORD"
)

// shutdownTimeout bounds the graceful part of a shutdown; connections
// still busy after it are closed.
const shutdownTimeout = 30 * time.Second

// serveOptions are the serve command's settings after defaults, the
// configuration file and the flags were applied (in that order).
type serveOptions struct {
	DataDir string
	TCPAddr string
	Fsync   string
	TLSCert string
	TLSKey  string
	// HTTPAddr is where /health, /metrics and /ping are served ("host:port",
	// port 0 picks one); "" serves no HTTP.
	HTTPAddr string
	// Listener limits (server.Config); 0 takes the server's default, a
	// negative duration turns that timeout off.
	LoginTimeout, IdleTimeout, ReadTimeout, WriteTimeout time.Duration
	MaxConnections, MaxPending, MaxPendingPerAddr        int
	MaxFrameMemory                                       int64
	// RebalancingTimeout is the broker's consumer-group hand-over timeout
	// (broker.Config.RebalancingTimeout); 0 takes Iggy's 30s.
	RebalancingTimeout time.Duration
	// Heartbeat turns on the removal of clients that send no ping for
	// more than 1.2 HeartbeatInterval (Iggy's [heartbeat]); off by default.
	Heartbeat         bool
	HeartbeatInterval time.Duration
	// AllowDefaultPassword lets serve listen off loopback while root still
	// has the default password (throwaway setups only).
	AllowDefaultPassword bool
}

// serverConfig returns the Iggy TCP listener's configuration.
func (o serveOptions) serverConfig(tlsCfg *tls.Config, logger *slog.Logger) server.Config {
	return server.Config{Addr: o.TCPAddr, TLS: tlsCfg, Logger: logger,
		LoginTimeout: o.LoginTimeout, IdleTimeout: o.IdleTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		MaxConnections: o.MaxConnections, MaxPendingConnections: o.MaxPending, MaxPendingPerAddr: o.MaxPendingPerAddr,
		MaxFrameMemory: o.MaxFrameMemory}
}

func newServeCmd(rf *rootFlags) *cobra.Command {
	opts := serveOptions{DataDir: "./data/iggy", TCPAddr: server.DefaultAddr, Fsync: string(logstore.FsyncInterval)}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the embedded broker as a standalone Iggy 0.8.0 server",
		Long: `Runs the embedded broker with the Iggy 0.8.0 TCP protocol in front of it,
so the official Iggy SDKs and CLI can connect. Prints one line naming the
bound address once it accepts connections. SIGINT or SIGTERM shut it down
gracefully: stop accepting, finish requests in flight, flush, close.

--http-addr also serves, next to the Iggy TCP listener, Iggy 0.8.0's HTTP
API over the same broker (POST /users/login for a bearer token, then
/streams, /users, ... as Iggy; docs/http-api.md; HTTPS with --tls-cert) and
rustok's endpoints (a second line names its address once it listens):
  GET /health   JSON report: in-process ping and the broker's contents,
                the TCP listener, free disk space of the data dir; 200
                when healthy or degraded (disk low), 503 when unhealthy
  GET /metrics  Prometheus text: Go runtime and process collectors and
                rustok_iggy_broker_* gauges (up, streams, topics,
                partitions, segments, consumer_groups, messages,
                messages_size_bytes, clients, disk_free_bytes, ...)
  GET /ping     "pong"
Without the flag it is off, unless --config is given: then it is
embedded.bind_address:embedded.http_port (off when http_port is 0).
--http-addr "" turns it off whatever the config says.

The root user is created on the first start from IGGY_ROOT_USERNAME and
IGGY_ROOT_PASSWORD (default iggy / iggy). serve refuses to listen on a
non-loopback address while root still has the default password (set
IGGY_ROOT_PASSWORD on the first start, or change it), unless
--allow-default-password is given; it warns when it listens off loopback
without TLS.

The listener limits defend against hostile clients (see docs/security.md):
connections must log in within --login-timeout; connections not logged in
yet are capped (--max-pending, --max-pending-per-addr; a new one evicts the
oldest) and never take the --max-connections slots of logged-in clients;
request payloads in flight share --max-frame-memory (when it is spent,
sockets are not read: TCP backpressure). With --config they come from
embedded.login_timeout, idle_timeout, read_timeout, write_timeout,
max_connections, max_pending_connections, max_pending_per_addr and
max_frame_memory; flags win.

--heartbeat turns on Iggy's stale client verification (off by default, as
Iggy's [heartbeat] enabled = false): every --heartbeat-interval (5s) each
client that sent no ping for more than 1.2 intervals is removed (it leaves
its consumer groups); its next command answers StaleClient (30) and the
connection is closed. The official SDKs ping every 5s. With --config they
come from embedded.heartbeat.enabled and embedded.heartbeat.interval.

Iggy 0.8.0's environment variables are read as Iggy's server reads them
(over --config, under the flags; empty means unset), so the rustok-iggy
image drops in where apache/iggy runs:
  IGGY_SYSTEM_PATH                         --data-dir
  IGGY_TCP_ADDRESS                         --tcp-addr
  IGGY_TCP_ENABLED                         false is refused (TCP is always on)
  IGGY_TCP_TLS_ENABLED=true                TLS with IGGY_TCP_TLS_CERT_FILE and
                                           IGGY_TCP_TLS_KEY_FILE (--tls-cert,
                                           --tls-key; no self-signed certificate)
  IGGY_HTTP_ADDRESS                        --http-addr
  IGGY_HTTP_ENABLED                        false: no HTTP; true without an
                                           address: 127.0.0.1:3000 as Iggy
  IGGY_HEARTBEAT_ENABLED, _INTERVAL        --heartbeat, --heartbeat-interval
  IGGY_CONSUMER_GROUP_REBALANCING_TIMEOUT  --rebalancing-timeout
  IGGY_SYSTEM_PARTITION_ENFORCE_FSYNC      true: --fsync always; false: interval
Durations take Iggy's spelling too ("5 s", "1m 30s").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eff, err := resolveServeOptions(rf.configPath, opts, cmd, os.LookupEnv)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			return runServe(ctx, eff, cmd.OutOrStdout(), logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "data-dir", opts.DataDir, "broker data `directory`")
	f.StringVar(&opts.TCPAddr, "tcp-addr", opts.TCPAddr, "TCP listen `address` (host:port; port 0 picks one)")
	f.StringVar(&opts.Fsync, "fsync", opts.Fsync, "fsync `policy`: never, interval or always")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "TLS certificate `file` (PEM); with --tls-key enables TLS")
	f.StringVar(&opts.TLSKey, "tls-key", "", "TLS private key `file` (PEM)")
	f.StringVar(&opts.HTTPAddr, "http-addr", "", "HTTP `address` (host:port; port 0 picks one) for /health, /metrics, /ping;\n"+
		"default: off, or with --config embedded.bind_address:http_port (http_port 0: off)")
	f.DurationVar(&opts.LoginTimeout, "login-timeout", server.DefaultLoginTimeout, "time a connection has to log in (negative: none)")
	f.DurationVar(&opts.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout,
		"close a logged-in connection silent this long; keep above the clients' heartbeat (5s) (negative: none)")
	f.DurationVar(&opts.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "time to receive one whole request frame (negative: none)")
	f.DurationVar(&opts.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time to write one response (negative: none)")
	f.IntVar(&opts.MaxConnections, "max-connections", server.DefaultMaxConnections, "cap on logged-in connections")
	f.IntVar(&opts.MaxPending, "max-pending", server.DefaultMaxPendingConnections,
		"cap on connections not logged in yet (a new one evicts the oldest)")
	f.IntVar(&opts.MaxPendingPerAddr, "max-pending-per-addr", server.DefaultMaxPendingPerAddr,
		"cap on connections not logged in yet from one IP address")
	f.Int64Var(&opts.MaxFrameMemory, "max-frame-memory", server.DefaultMaxFrameMemory,
		"`bytes` of request frames in flight, shared by all connections")
	f.DurationVar(&opts.RebalancingTimeout, "rebalancing-timeout", broker.DefaultRebalancingTimeout,
		"time a consumer-group partition waits for its owner's commit before it moves to a joining member anyway")
	f.BoolVar(&opts.Heartbeat, "heartbeat", false, "remove clients that send no ping for 1.2 heartbeat intervals (Iggy's [heartbeat])")
	f.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", broker.DefaultHeartbeatInterval, "expected client ping interval with --heartbeat")
	f.BoolVar(&opts.AllowDefaultPassword, "allow-default-password", false,
		"listen off loopback even though root still has the default password (throwaway setups only)")
	return cmd
}

// resolveServeOptions applies the configuration file (if any) over the
// defaults, then Iggy's environment variables found by lookupEnv
// (serveenv.go), then every flag given on the command line over that.
func resolveServeOptions(configPath string, flags serveOptions, cmd *cobra.Command, lookupEnv func(string) (string, bool)) (serveOptions, error) {
	eff := flags
	if configPath != "" {
		cfg, err := config.Load(configPath)
		if err != nil {
			return serveOptions{}, err
		}
		emb := cfg.Events.Iggy.Embedded
		changed := cmd.Flags().Changed
		if !changed("data-dir") && emb.DataDir != "" {
			eff.DataDir = emb.DataDir
		}
		if !changed("tcp-addr") {
			host := emb.BindAddress
			if host == "" {
				host = "127.0.0.1"
			}
			eff.TCPAddr = net.JoinHostPort(host, strconv.Itoa(emb.TCPPort))
		}
		if !changed("fsync") && emb.Fsync != "" {
			eff.Fsync = string(emb.Fsync)
		}
		durations := []struct {
			flag string
			dst  *time.Duration
			v    time.Duration
		}{{"login-timeout", &eff.LoginTimeout, emb.LoginTimeout}, {"idle-timeout", &eff.IdleTimeout, emb.IdleTimeout},
			{"read-timeout", &eff.ReadTimeout, emb.ReadTimeout}, {"write-timeout", &eff.WriteTimeout, emb.WriteTimeout},
			{"rebalancing-timeout", &eff.RebalancingTimeout, emb.RebalancingTimeout}}
		for _, d := range durations {
			if !changed(d.flag) && d.v != 0 {
				*d.dst = d.v
			}
		}
		counts := []struct {
			flag string
			dst  *int
			v    int
		}{{"max-connections", &eff.MaxConnections, emb.MaxConnections}, {"max-pending", &eff.MaxPending, emb.MaxPendingConnections},
			{"max-pending-per-addr", &eff.MaxPendingPerAddr, emb.MaxPendingPerAddr}}
		for _, c := range counts {
			if !changed(c.flag) && c.v != 0 {
				*c.dst = c.v
			}
		}
		if !changed("max-frame-memory") && emb.MaxFrameMemory != 0 {
			eff.MaxFrameMemory = emb.MaxFrameMemory
		}
		if !changed("heartbeat") {
			eff.Heartbeat = emb.Heartbeat.Enabled
		}
		if !changed("heartbeat-interval") && emb.Heartbeat.Interval != 0 {
			eff.HeartbeatInterval = emb.Heartbeat.Interval
		}
		if !changed("http-addr") {
			eff.HTTPAddr = ""
			if emb.HTTPPort != 0 {
				host := emb.BindAddress
				if host == "" {
					host = "127.0.0.1"
				}
				eff.HTTPAddr = net.JoinHostPort(host, strconv.Itoa(emb.HTTPPort))
			}
		}
	}
	var errs []error
	if err := applyIggyEnv(&eff, lookupEnv, cmd.Flags().Changed); err != nil {
		errs = append(errs, err)
	}
	if eff.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: empty"))
	}
	if _, _, err := net.SplitHostPort(eff.TCPAddr); err != nil {
		errs = append(errs, fmt.Errorf("--tcp-addr: %w", err))
	}
	if _, err := logstore.ParseFsyncPolicy(eff.Fsync); err != nil {
		errs = append(errs, fmt.Errorf("--fsync: %w", err))
	}
	if eff.HTTPAddr != "" {
		if _, port, err := net.SplitHostPort(eff.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--http-addr: %w", err))
		} else if port != "0" && eff.HTTPAddr == eff.TCPAddr {
			errs = append(errs, fmt.Errorf("--http-addr: %s is also the --tcp-addr", eff.HTTPAddr))
		}
	}
	if eff.RebalancingTimeout < 0 {
		errs = append(errs, fmt.Errorf("--rebalancing-timeout: %s is negative", eff.RebalancingTimeout))
	}
	if eff.HeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("--heartbeat-interval: %s is not positive", eff.HeartbeatInterval))
	}
	if (eff.TLSCert == "") != (eff.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key: give both or neither"))
	}
	return eff, errors.Join(errs...)
}

// runServe opens the broker, serves until ctx ends, then shuts down
// gracefully (HTTP first, then the Iggy TCP listener) and closes the
// broker. The "listening" lines go to out: the Iggy TCP one first, then
// the HTTP one when o.HTTPAddr is set; both listeners are bound before
// either line is printed.
func runServe(ctx context.Context, o serveOptions, out io.Writer, logger *slog.Logger) error {
	var tlsCfg *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	b, err := broker.Open(broker.Config{
		DataDir:      o.DataDir,
		Fsync:        logstore.FsyncPolicy(o.Fsync),
		RootUsername: os.Getenv(envRootUsername),
		RootPassword: os.Getenv(envRootPassword),
		Logger:       logger,

		RebalancingTimeout: o.RebalancingTimeout,
		HeartbeatEnabled:   o.Heartbeat,
		HeartbeatInterval:  o.HeartbeatInterval,
	})
	if err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	if !embedded.IsLoopback(o.TCPAddr) {
		if b.RootPasswordIsDefault() {
			if !o.AllowDefaultPassword {
				_ = b.Close()
				return fmt.Errorf("refusing to listen on %s (not loopback) while the root user has the default password: "+
					"set %s (and %s) before the first start or change the password, or pass --allow-default-password "+
					"for a throwaway setup", o.TCPAddr, envRootPassword, envRootUsername)
			}
			logger.Warn("listening off loopback with the default root password (--allow-default-password)", "addr", o.TCPAddr)
		}
		if tlsCfg == nil {
			logger.Warn("listening off loopback without TLS: passwords and messages cross the network in clear; see --tls-cert",
				"addr", o.TCPAddr)
		}
	}
	srv, err := server.New(b, o.serverConfig(tlsCfg, logger))
	if err != nil {
		_ = b.Close()
		return err
	}
	if err := srv.Listen(); err != nil {
		_ = b.Close()
		return err
	}
	scheme := "tcp"
	if tlsCfg != nil {
		scheme = "tcp+tls"
	}
	tcpURL := fmt.Sprintf("%s://%s", scheme, srv.Addr())
	var (
		probe *brokerProbe
		web   *webServer
	)
	if o.HTTPAddr != "" {
		probe = newBrokerProbe(b, o.DataDir, tcpURL)
		if web, err = startHTTP(o.HTTPAddr, probe, tlsCfg, srv.Addr(), logger); err != nil {
			probe.close()
			_ = srv.Close()
			_ = b.Close()
			return err
		}
	}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve()
		if probe != nil {
			probe.listenerStopped(err)
		}
		served <- err
	}()
	fmt.Fprintf(out, "rustok-iggy: Iggy server listening on %s (data dir %s)\n", tcpURL, o.DataDir)
	if web != nil {
		fmt.Fprintf(out, "rustok-iggy: HTTP API listening on %s://%s (Iggy HTTP API; /health, /metrics, /ping)\n", web.scheme, web.addr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case serveErr = <-served:
		logger.Error("server stopped", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if web != nil {
		if err := web.shutdown(sctx); err != nil {
			logger.Warn("HTTP shutdown cut short", "err", err)
		}
		probe.close()
	}
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("graceful shutdown cut short", "err", err)
	}
	if err := <-served; serveErr == nil && !errors.Is(err, server.ErrServerClosed) {
		serveErr = err
	}
	if err := b.Close(); err != nil {
		return errors.Join(serveErr, fmt.Errorf("close broker: %w", err))
	}
	if serveErr != nil && !errors.Is(serveErr, server.ErrServerClosed) {
		return serveErr
	}
	logger.Info("stopped")
	return nil
}

// webServer is serve's HTTP endpoint: httpapi's handler over the broker
// probe, served on its own goroutine until shutdown.
type webServer struct {
	srv    *http.Server
	addr   string        // bound address
	scheme string        // http, or https with --tls-cert
	done   chan struct{} // closed when Serve returned
}

// startHTTP binds addr and serves /health, /metrics and /ping for the
// probe's broker on a goroutine that shutdown stops and waits for.
func startHTTP(addr string, p *brokerProbe, tlsCfg *tls.Config, tcpAddr *net.TCPAddr, logger *slog.Logger) (*webServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	rustok := httpapi.New(httpapi.Config{Health: p.Health, Gatherer: serveRegistry(p), Logger: logger})
	h, scheme, err := iggyHTTP(p, rustok, tlsCfg, tcpAddr, ln.Addr(), logger)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	w := &webServer{
		scheme: scheme,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: compose.HTTPReadHeaderTimeout,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(w.done)
		if err := w.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server stopped", "err", err)
		}
	}()
	return w, nil
}

// shutdown stops accepting, lets requests in flight finish within ctx
// (then closes their connections) and waits for the serving goroutine.
func (w *webServer) shutdown(ctx context.Context) error {
	err := w.srv.Shutdown(ctx)
	if err != nil {
		_ = w.srv.Close()
	}
	<-w.done
	return err
}
