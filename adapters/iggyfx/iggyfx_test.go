package iggyfx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/iggyfx"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	doc := `events:
  iggy:
    mode: embedded
    topology:
      domain_partitions: 2
    embedded:
      data_dir: ` + filepath.Join(dir, "data") + `
      tcp_port: 0
      http_port: 0
      fsync: never
` + extra
	path := filepath.Join(dir, "events.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestModuleLifecycle(t *testing.T) {
	var (
		app *compose.App
		tr  *transport.Transport
		et  core.EventTransport
		hc  *compose.HealthChecker
		cfg config.Config
	)
	fxApp := fxtest.New(t,
		iggyfx.Module(iggyfx.WithConfigFile(writeConfig(t, ""))),
		fx.Populate(&app, &tr, &et, &hc, &cfg),
	)
	fxApp.RequireStart()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := iggyfx.WaitReady(ctx, app); err != nil {
		t.Fatal(err)
	}
	if et != core.EventTransport(tr) || cfg.Events.Iggy.Topology.DomainPartitions != 2 {
		t.Fatalf("provided values do not match: %v %v", et, cfg.Events.Iggy.Topology)
	}
	ev := core.NewEnvelope(uuid.New(), "node.created", core.Event{Type: "NodeCreated"})
	if err := et.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if rep := hc.Check(ctx); rep.Status == transport.Unhealthy {
		t.Fatalf("health: %v", rep)
	}
	fxApp.RequireStop()
	if err := tr.Publish(context.Background(), ev); !errors.Is(err, core.ErrClosed) {
		t.Errorf("publish after stop: %v", err)
	}
}

func TestModuleConfigFromEnv(t *testing.T) {
	t.Setenv(config.EnvConfigPath, writeConfig(t, "    serialization: cbor\n"))
	var cfg config.Config
	fxApp := fxtest.New(t, iggyfx.Module(), fx.Populate(&cfg))
	fxApp.RequireStart().RequireStop()
	if cfg.Events.Iggy.Serialization != config.SerializationCBOR {
		t.Errorf("serialization = %q, want cbor from %s", cfg.Events.Iggy.Serialization, config.EnvConfigPath)
	}
}

func TestModuleBadConfig(t *testing.T) {
	path := writeConfig(t, "    serializaton: json\n")
	fxApp := fx.New(iggyfx.Module(iggyfx.WithConfigFile(path)), fx.Invoke(func(core.EventTransport) {}), fx.NopLogger)
	err := fxApp.Err()
	if err == nil || !strings.Contains(err.Error(), `unknown key "serializaton"`) {
		t.Fatalf("err = %v", err)
	}
}

// A permanent start failure (the broker refuses the credentials) shuts the
// application down with exit code 1.
func TestModulePermanentStartFailure(t *testing.T) {
	srvCfg := config.Default()
	srvCfg.Events.Iggy.Embedded.DataDir = t.TempDir()
	srvCfg.Events.Iggy.Embedded.TCPPort = 0
	srvCfg.Events.Iggy.Embedded.HTTPPort = 0
	server, err := compose.New(t.Context(), srvCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer server.Shutdown(context.Background())

	cfg := config.Default()
	cfg.Events.Iggy.Mode = config.ModeRemote
	cfg.Events.Iggy.Remote.Addresses = []string{server.TCPAddr()}
	cfg.Events.Iggy.Remote.Username = "iggy"
	cfg.Events.Iggy.Remote.Password = "wrong-password"
	var app *compose.App
	fxApp := fxtest.New(t, iggyfx.Module(iggyfx.WithConfig(cfg)), fx.Populate(&app))
	fxApp.RequireStart()
	select {
	case sig := <-fxApp.Wait():
		if sig.ExitCode != 1 {
			t.Errorf("exit code %d, want 1", sig.ExitCode)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown after a permanent start failure")
	}
	if err := app.LastStartError(); !errors.Is(err, core.ErrUnauthenticated) {
		t.Errorf("last start error = %v, want unauthenticated", err)
	}
	fxApp.RequireStop()
}
