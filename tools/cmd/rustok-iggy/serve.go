package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/config"
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

The root user is created on the first start from IGGY_ROOT_USERNAME and
IGGY_ROOT_PASSWORD (default iggy / iggy).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eff, err := resolveServeOptions(rf.configPath, opts, cmd)
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
	return cmd
}

// resolveServeOptions applies the configuration file (if any) over the
// defaults, then every flag given on the command line over that.
func resolveServeOptions(configPath string, flags serveOptions, cmd *cobra.Command) (serveOptions, error) {
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
	}
	var errs []error
	if eff.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: empty"))
	}
	if _, _, err := net.SplitHostPort(eff.TCPAddr); err != nil {
		errs = append(errs, fmt.Errorf("--tcp-addr: %w", err))
	}
	if _, err := logstore.ParseFsyncPolicy(eff.Fsync); err != nil {
		errs = append(errs, fmt.Errorf("--fsync: %w", err))
	}
	if (eff.TLSCert == "") != (eff.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key: give both or neither"))
	}
	return eff, errors.Join(errs...)
}

// runServe opens the broker, serves until ctx ends, then shuts down
// gracefully and closes the broker. The "listening" line goes to out.
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
	})
	if err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	srv, err := server.New(b, server.Config{Addr: o.TCPAddr, TLS: tlsCfg, Logger: logger})
	if err != nil {
		_ = b.Close()
		return err
	}
	if err := srv.Listen(); err != nil {
		_ = b.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	scheme := "tcp"
	if tlsCfg != nil {
		scheme = "tcp+tls"
	}
	fmt.Fprintf(out, "rustok-iggy: Iggy server listening on %s://%s (data dir %s)\n", scheme, srv.Addr(), o.DataDir)

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case serveErr = <-served:
		logger.Error("server stopped", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
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
