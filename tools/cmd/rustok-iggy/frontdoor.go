package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/otelenv"
	"github.com/rustok/rustok-iggy/core"
)

// addFrontDoorCommands adds the transport commands (demo, publish,
// consume, replay, dlq, topology with topology delete, health, group
// delete) to root. Each reads the root's
// persistent --config flag.
func addFrontDoorCommands(root *cobra.Command) {
	root.AddCommand(newDemoCmd(), newPublishCmd(), newConsumeCmd(), newReplayCmd(), newDLQCmd(), newTopologyCmd(), newHealthCmd(), newOutboxCmd(), newGroupCmd())
}

// stopTimeout bounds the drain at the end of a command.
const stopTimeout = 15 * time.Second

// loadConfig reads the file named by --config, else RUSTOK_IGGY_CONFIG,
// else the defaults. Errors name the file and every bad key.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path := ""
	if f := cmd.Flag("config"); f != nil {
		path = f.Value.String()
	}
	if path == "" {
		if p := os.Getenv(config.EnvConfigPath); p != "" {
			path = p
		}
	}
	if path == "" {
		return config.Default(), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return config.Config{}, fmt.Errorf("bad configuration (--config or %s):\n  %s", config.EnvConfigPath,
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cfg, nil
}

// cliLogger logs warnings and errors as text to stderr (level says which
// is the least severe shown).
func cliLogger(cmd *cobra.Command, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// openApp builds and starts the App for a command. Short-lived commands
// pass compose.WithoutTCPListener: they need no listener of their own.
// The transport traces and records metrics as the OTEL_* environment says
// (see otelenv); the App's Shutdown flushes the exporters.
// Start errors get a hint for the common causes.
func openApp(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...compose.Option) (*compose.App, error) {
	if cfg.Events.Iggy.Mode == config.ModeRemote {
		// The Iggy Go SDK logs every login through the standard library's
		// global logger; keep it off the command's output.
		log.SetOutput(io.Discard)
	}
	tel, err := otelenv.New(ctx, "rustok-iggy")
	if err != nil {
		return nil, err
	}
	app, err := compose.New(ctx, cfg, logger, append([]compose.Option{compose.WithTelemetry(tel)}, opts...)...)
	if err != nil {
		_ = tel.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := app.Start(ctx); err != nil {
		_ = app.Shutdown(context.WithoutCancel(ctx))
		return nil, startHint(cfg, err)
	}
	return app, nil
}

func startHint(cfg config.Config, err error) error {
	ig := cfg.Events.Iggy
	switch {
	case ig.Mode == config.ModeEmbedded && strings.Contains(err.Error(), "in use by another broker"):
		return fmt.Errorf("%w\nhint: another process (rustok-iggy serve?) holds %s; reach it in remote mode instead (events.iggy.mode: remote, remote.addresses: [%s:%d], username/password iggy/iggy)",
			err, ig.Embedded.DataDir, ig.Embedded.BindAddress, ig.Embedded.TCPPort)
	case ig.Mode == config.ModeRemote && errors.Is(err, core.ErrUnavailable):
		return fmt.Errorf("%w\nhint: is the server running at %v? start one with: rustok-iggy serve", err, ig.Remote.Addresses)
	case ig.Mode == config.ModeRemote && errors.Is(err, core.ErrUnauthenticated):
		return fmt.Errorf("%w\nhint: check events.iggy.remote.username and password (rustok-iggy serve creates iggy/iggy unless IGGY_ROOT_USERNAME/IGGY_ROOT_PASSWORD say otherwise)", err)
	}
	return err
}

// closeApp drains and shuts app down, bounded by stopTimeout.
func closeApp(app *compose.App) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return app.Shutdown(ctx)
}

// parseTenants parses --tenant values: UUIDs, or names, which map to a
// UUID v5 (the same name always gives the same tenant).
func parseTenants(vals []string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for _, v := range vals {
		id, err := parseTenant(v)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// tenantNamespace is the UUID v5 namespace of tenant names.
var tenantNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://rustok.dev/rustok-iggy/tenant"))

// tenantID returns a tenant name's UUID (v5).
func tenantID(name string) uuid.UUID { return uuid.NewSHA1(tenantNamespace, []byte(name)) }

func parseTenant(v string) (uuid.UUID, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return uuid.Nil, errors.New("--tenant: empty")
	}
	if id, err := uuid.Parse(v); err == nil {
		if id == uuid.Nil {
			return uuid.Nil, errors.New("--tenant: the nil UUID is not a tenant")
		}
		return id, nil
	}
	if strings.ContainsAny(v, " \t") {
		return uuid.Nil, fmt.Errorf("--tenant %q: want a UUID or a name without spaces", v)
	}
	return tenantID(v), nil
}

// usageError marks a bad flag value; the message says which flag.
func usageError(format string, args ...any) error {
	return fmt.Errorf("usage: "+format, args...)
}
