package compose_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is the default config on a temporary data dir, with the Iggy
// TCP listener on a free port and no HTTP listener.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	e := &cfg.Events.Iggy.Embedded
	e.DataDir = t.TempDir()
	e.TCPPort = 0
	e.HTTPPort = 0
	e.Fsync = config.FsyncNever
	cfg.Events.Iggy.Topology.DomainPartitions = 4
	cfg.Events.Iggy.Consumer.InitialBackoff = time.Millisecond
	cfg.Events.Iggy.Consumer.MaxBackoff = 2 * time.Millisecond
	cfg.Events.Iggy.Consumer.MaxAttempts = 2
	return cfg
}

func startApp(t *testing.T, cfg config.Config, opts ...compose.Option) *compose.App {
	t.Helper()
	ctx := t.Context()
	app, err := compose.New(ctx, cfg, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return app
}

func TestTransportConfigMapping(t *testing.T) {
	cfg := config.Default()
	r := &cfg.Events.Iggy.Retention
	r.DomainMaxAgeDays, r.DomainMaxSizeGB, r.SystemMaxAgeDays, r.DLQMaxAgeDays = 0, 2, 3, 0
	cfg.Events.Iggy.Publisher.Linger = 0
	tc := compose.TransportConfig(cfg)
	if tc.Retention.Domain.MaxAge >= 0 || tc.Retention.DLQ.MaxAge >= 0 {
		t.Errorf("0 days must map to forever (negative), got %v / %v", tc.Retention.Domain.MaxAge, tc.Retention.DLQ.MaxAge)
	}
	if tc.Retention.Domain.MaxSize != 2_000_000_000 {
		t.Errorf("domain max size = %d, want 2e9", tc.Retention.Domain.MaxSize)
	}
	if tc.Retention.System.MaxAge != 3*24*time.Hour {
		t.Errorf("system max age = %v", tc.Retention.System.MaxAge)
	}
	if tc.Publisher.Linger <= 0 || tc.Publisher.Linger > time.Microsecond {
		t.Errorf("linger 0 must mean at once, got %v", tc.Publisher.Linger)
	}
	if err := tc.Validate(); err != nil {
		t.Fatal(err)
	}
	d := compose.TransportConfig(config.Default()).WithDefaults()
	if d.Topology.StreamName != "rustok" || d.Topology.DomainPartitions != 8 || d.Consumer.MaxAttempts != 5 ||
		d.Retention.Domain.MaxAge != 30*24*time.Hour || d.Retention.Domain.MaxSize != 10_000_000_000 || d.Publisher.BufferSize != 10000 {
		t.Errorf("defaults mapped wrongly: %+v", d)
	}
	ec := compose.EmbeddedConfig(config.Default())
	if ec.TCPAddr != "127.0.0.1:8090" || ec.DataDir != "./data/iggy" || ec.Fsync != "interval" || ec.HeartbeatEnabled {
		t.Errorf("embedded = %+v", ec)
	}
	withTimeout := config.Default()
	withTimeout.Events.Iggy.Embedded.RebalancingTimeout = time.Minute
	if got := compose.EmbeddedConfig(withTimeout).RebalancingTimeout; got != time.Minute {
		t.Errorf("rebalancing_timeout mapped to %s", got)
	}
	hb := config.Default()
	hb.Events.Iggy.Embedded.Heartbeat = config.Heartbeat{Enabled: true, Interval: 3 * time.Second}
	if ec := compose.EmbeddedConfig(hb); !ec.HeartbeatEnabled || ec.HeartbeatInterval != 3*time.Second {
		t.Errorf("heartbeat not mapped: %+v", ec)
	}
	if got := compose.HTTPAddr(config.Default()); got != "127.0.0.1:3000" {
		t.Errorf("HTTPAddr = %q", got)
	}
	rc := compose.RemoteConfig(config.Default())
	if rc.RequestTimeout != 30*time.Second || rc.Addresses[0] != "127.0.0.1:8090" {
		t.Errorf("remote = %+v", rc)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Events.Iggy.Topology.DomainPartitions = 0
	_, err := compose.New(t.Context(), cfg, nil)
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "events.iggy.topology.domain_partitions") {
		t.Fatalf("err = %v", err)
	}
}

func TestBeforeStart(t *testing.T) {
	app, err := compose.New(t.Context(), testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	if _, err := app.Broker().Ping(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("ping before start: %v", err)
	}
	rep := app.Health().Check(t.Context())
	if rep.Status != transport.Unhealthy || rep.Checks[0].Name != "start" {
		t.Errorf("health before start: %v", rep)
	}
	if err := app.Transport().Publish(t.Context(), core.NewEnvelope(uuid.New(), "a.b", core.Event{Type: "AB"})); !errors.Is(err, transport.ErrNotStarted) {
		t.Errorf("publish before start: %v", err)
	}
}

func TestEmbeddedRoundTripAndHTTP(t *testing.T) {
	cfg := testConfig(t)
	app := startApp(t, cfg, compose.WithHTTPAddr("127.0.0.1:0"))
	ctx := t.Context()
	if app.TCPAddr() == "" || strings.HasSuffix(app.TCPAddr(), ":0") {
		t.Fatalf("TCPAddr = %q", app.TCPAddr())
	}
	select {
	case <-app.Ready():
	default:
		t.Fatal("Ready not closed after Start")
	}
	tr := app.Transport()
	tenant := uuid.New()
	for i := range 5 {
		ev := core.NewEnvelope(tenant, "order.placed", core.Event{Type: "OrderPlaced", Data: []byte(`{"n":` + string(rune('0'+i)) + `}`)})
		if err := tr.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var n atomic.Int32
	done := make(chan struct{})
	sub, err := tr.Subscribe(ctx, "compose-test", func(ctx context.Context, d transport.Delivery) error {
		if d.Envelope.TenantID != tenant {
			return errors.New("wrong tenant")
		}
		if n.Add(1) == 5 {
			close(done)
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("events not consumed")
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	base := "http://" + app.HTTPAddr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/ping"); code != 200 || body != "pong" {
		t.Errorf("/ping = %d %q", code, body)
	}
	if code, body := get("/health"); code != 200 || !strings.Contains(body, `"name":"broker"`) {
		t.Errorf("/health = %d %s", code, body)
	}
	code, body := get("/metrics")
	if code != 200 || !hasLine(body, httpapi.PromSentMessages+"{", `messaging_destination_name="domain"`, " 5") ||
		!hasLine(body, httpapi.PromConsumedMessages+"{", `messaging_consumer_group_name="compose-test"`, " 5") {
		t.Errorf("/metrics = %d\n%s", code, body)
	}
	// Iggy's HTTP API on the same listener sees the events published in
	// process.
	resp, err := http.Post(base+"/users/login", "application/json", strings.NewReader(`{"username":"iggy","password":"iggy"}`))
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		AccessToken struct {
			Token string `json:"token"`
		} `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&id)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", base+"/streams/"+cfg.Events.Iggy.Topology.StreamName+"/topics/domain", nil)
	req.Header.Set("Authorization", "Bearer "+id.AccessToken.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"messages_count":5`) {
		t.Errorf("GET topic over Iggy HTTP = %d %s", resp.StatusCode, b)
	}
}

func TestRemoteModeAgainstEmbeddedListener(t *testing.T) {
	server := startApp(t, testConfig(t))
	cfg := config.Default()
	cfg.Events.Iggy.Mode = config.ModeRemote
	cfg.Events.Iggy.Remote.Addresses = []string{server.TCPAddr()}
	cfg.Events.Iggy.Remote.Username = "iggy"
	cfg.Events.Iggy.Remote.Password = "iggy"
	cfg.Events.Iggy.Topology.DomainPartitions = 4
	client := startApp(t, cfg)
	ctx := t.Context()
	ev := core.NewEnvelope(uuid.New(), "node.created", core.Event{Type: "NodeCreated"})
	if err := client.Transport().Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	var got core.Envelope
	res, err := server.Transport().Replay(ctx, transport.ReplayRequest{Tenants: []uuid.UUID{ev.TenantID}}, func(_ context.Context, d transport.Delivery) error {
		got = d.Envelope
		return nil
	})
	if err != nil || res.Delivered != 1 || got.ID != ev.ID {
		t.Fatalf("replay on the server: %+v %v, got %v", res, err, got.ID)
	}
	if rep := client.Health().Check(ctx); rep.Status == transport.Unhealthy {
		t.Errorf("client health: %v", rep)
	}
}

func TestPortFallback(t *testing.T) {
	first := startApp(t, testConfig(t))
	_, port, _ := strings.Cut(first.TCPAddr(), ":")
	cfg := testConfig(t)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	cfg.Events.Iggy.Embedded.TCPPort = p
	app, err := compose.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("taken port without fallback: %v", err)
	}
	if err := app.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := startApp(t, cfg, compose.WithPortFallback())
	if second.TCPAddr() == first.TCPAddr() || len(second.Notices()) != 1 {
		t.Errorf("fallback: addr %s, notices %v", second.TCPAddr(), second.Notices())
	}
}

func TestShutdownIdempotentAndStartAfter(t *testing.T) {
	app, err := compose.New(t.Context(), testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := app.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := app.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); !errors.Is(err, core.ErrClosed) {
		t.Errorf("start after shutdown: %v", err)
	}
}

// hasLine reports whether a line of body starts with prefix, contains
// label and ends with suffix.
func hasLine(body, prefix, label, suffix string) bool {
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, prefix) && strings.Contains(line, label) && strings.HasSuffix(line, suffix) {
			return true
		}
	}
	return false
}

// The YAML's embedded.http.cors reaches the Iggy HTTP API.
func TestEmbeddedHTTPCORSFromConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Events.Iggy.Embedded.HTTP.CORS.AllowedOrigins = []string{"http://ui.example"}
	app := startApp(t, cfg, compose.WithHTTPAddr("127.0.0.1:0"))
	for origin, want := range map[string]string{"http://ui.example": "http://ui.example", "http://evil.example": ""} {
		req, _ := http.NewRequest("GET", "http://"+app.HTTPAddr()+"/ping", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
	}
}
