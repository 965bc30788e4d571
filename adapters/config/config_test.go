package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

func TestDefaultMatchesSeed(t *testing.T) {
	c := Default()
	ig := c.Events.Iggy
	checks := []struct {
		name      string
		got, want any
	}{
		{"transport", c.Events.Transport, "iggy"},
		{"mode", ig.Mode, ModeEmbedded},
		{"serialization", ig.Serialization, SerializationJSON},
		{"stream_name", ig.Topology.StreamName, "rustok"},
		{"domain_partitions", ig.Topology.DomainPartitions, 8},
		{"replication_factor", ig.Topology.ReplicationFactor, 1},
		{"data_dir", ig.Embedded.DataDir, "./data/iggy"},
		{"tcp_port", ig.Embedded.TCPPort, 8090},
		{"http_port", ig.Embedded.HTTPPort, 3000},
		{"bind_address", ig.Embedded.BindAddress, "127.0.0.1"},
		{"fsync", ig.Embedded.Fsync, FsyncInterval},
		{"addresses", ig.Remote.Addresses, []string{"127.0.0.1:8090"}},
		{"protocol", ig.Remote.Protocol, "tcp"},
		{"username", ig.Remote.Username, "rustok"},
		{"password", ig.Remote.Password, Secret("")},
		{"tls_enabled", ig.Remote.TLSEnabled, false},
		{"connect_timeout", ig.Remote.ConnectTimeout, 5 * time.Second},
		{"request_timeout", ig.Remote.RequestTimeout, 30 * time.Second},
		{"domain_max_age_days", ig.Retention.DomainMaxAgeDays, 30},
		{"domain_max_size_gb", ig.Retention.DomainMaxSizeGB, 10},
		{"system_max_age_days", ig.Retention.SystemMaxAgeDays, 7},
		{"dlq_max_age_days", ig.Retention.DLQMaxAgeDays, 365},
		{"max_attempts", ig.Consumer.MaxAttempts, 5},
		{"initial_backoff", ig.Consumer.InitialBackoff, 100 * time.Millisecond},
		{"max_backoff", ig.Consumer.MaxBackoff, 10 * time.Second},
		{"start_from", ig.Consumer.StartFrom, StartEarliest},
		{"poll_batch_size", ig.Consumer.PollBatchSize, 100},
		{"publisher.mode", ig.Publisher.Mode, PublishSync},
		{"linger", ig.Publisher.Linger, time.Millisecond},
		{"max_batch", ig.Publisher.MaxBatch, 1000},
		{"buffer", ig.Publisher.Buffer, 10000},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
	// Each call returns an independent value.
	c.Events.Iggy.Remote.Addresses[0] = "changed:1"
	if Default().Events.Iggy.Remote.Addresses[0] != "127.0.0.1:8090" {
		t.Fatal("Default shares its slice between calls")
	}
}

func TestRetentionHelpers(t *testing.T) {
	r := Default().Events.Iggy.Retention
	if r.DomainMaxAge() != 30*24*time.Hour || r.SystemMaxAge() != 7*24*time.Hour || r.DLQMaxAge() != 365*24*time.Hour {
		t.Errorf("ages: %v %v %v", r.DomainMaxAge(), r.SystemMaxAge(), r.DLQMaxAge())
	}
	if r.DomainMaxSize() != 10_000_000_000 {
		t.Errorf("DomainMaxSize = %d", r.DomainMaxSize())
	}
	var zero Retention
	if zero.DomainMaxAge() != 0 || zero.DomainMaxSize() != 0 {
		t.Error("zero retention is not unlimited")
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n"} {
		c, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Fatalf("Parse(%q) = %+v, want defaults", doc, c)
		}
	}
}

func TestParseOverlaysDefaults(t *testing.T) {
	c, err := Parse([]byte(`
events:
  iggy:
    mode: remote
    serialization: cbor
    topology:
      domain_partitions: 16
    remote:
      addresses: ["10.0.0.1:8090", "iggy.example.com:8091"]
      password: s3cret
    retention:
      dlq_max_age_days: 0
    consumer:
      initial_backoff: 250ms
      start_from: latest
    publisher:
      mode: async
      linger: 0s
`))
	if err != nil {
		t.Fatal(err)
	}
	ig := c.Events.Iggy
	if ig.Mode != ModeRemote || ig.Serialization != SerializationCBOR || ig.Topology.DomainPartitions != 16 {
		t.Errorf("overrides lost: %+v", ig)
	}
	if ig.Topology.StreamName != "rustok" || ig.Topology.ReplicationFactor != 1 || ig.Remote.Username != "rustok" {
		t.Errorf("defaults lost: %+v", ig)
	}
	if !reflect.DeepEqual(ig.Remote.Addresses, []string{"10.0.0.1:8090", "iggy.example.com:8091"}) {
		t.Errorf("addresses = %v (the list replaces the default, it is not appended)", ig.Remote.Addresses)
	}
	if ig.Remote.Password.Reveal() != "s3cret" {
		t.Errorf("password = %q", ig.Remote.Password.Reveal())
	}
	if ig.Retention.DLQMaxAgeDays != 0 || ig.Retention.DomainMaxAgeDays != 30 {
		t.Errorf("retention = %+v (explicit 0 must override)", ig.Retention)
	}
	if ig.Consumer.InitialBackoff != 250*time.Millisecond || ig.Consumer.StartFrom != StartLatest || ig.Consumer.MaxAttempts != 5 {
		t.Errorf("consumer = %+v", ig.Consumer)
	}
	if ig.Publisher.Mode != PublishAsync || ig.Publisher.Linger != 0 || ig.Publisher.Buffer != 10000 {
		t.Errorf("publisher = %+v", ig.Publisher)
	}
}

func TestParseNullSectionKeepsDefaults(t *testing.T) {
	c, err := Parse([]byte("events:\n  iggy:\n    embedded:\n    topology: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("got %+v, want defaults", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown root key", "event:\n  transport: iggy\n", []string{`line 1: event: unknown key "event"`, "known keys at (root): events"}},
		{"unknown nested key", "events:\n  iggy:\n    mode: embedded\n    mdoe: remote\n", []string{`line 4: events.iggy.mdoe: unknown key "mdoe"`, "mode, serialization"}},
		{"unknown keys everywhere", "events:\n  iggy:\n    topology:\n      partitions: 3\n    remote:\n      host: x\n", []string{
			`line 4: events.iggy.topology.partitions: unknown key`, `line 6: events.iggy.remote.host: unknown key`}},
		{"wrong type", "events:\n  iggy:\n    topology:\n      domain_partitions: many\n", []string{"line 4", "cannot unmarshal !!str `many` into int"}},
		{"duration as number", "events:\n  iggy:\n    consumer:\n      max_backoff: 10\n", []string{"line 4", "max_backoff"}},
		{"bad duration", "events:\n  iggy:\n    consumer:\n      max_backoff: soon\n", []string{"line 4"}},
		{"syntax", "events:\n  iggy: [\n", []string{"yaml:"}},
		{"duplicate key", "events:\n  transport: iggy\n  transport: iggy\n", []string{"already defined"}},
		{"two documents", "events: {}\n---\nevents: {}\n", []string{"only one document"}},
		{"bincode", "events:\n  iggy:\n    serialization: bincode\n", []string{`events.iggy.serialization: "bincode" has no Go implementation; use "cbor"`}},
		{"unset variable", "events:\n  iggy:\n    remote:\n      password: ${RUSTOK_IGGY_TEST_UNSET}\n", []string{
			"line 4: events.iggy.remote.password: environment variable RUSTOK_IGGY_TEST_UNSET is not set"}},
		{"bad variable name", "events:\n  iggy:\n    remote:\n      password: ${1X}\n", []string{"bad variable name"}},
		{"unterminated variable", "events:\n  iggy:\n    remote:\n      password: ${X\n", []string{"unterminated"}},
		{"too large", strings.Repeat("#", MaxFileSize+1), []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, core.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("RIGGY_PORT", "9100")
	t.Setenv("RIGGY_NAME", "events")
	t.Setenv("RIGGY_EMPTY", "")
	t.Setenv("RIGGY_PASS", "null")
	t.Setenv("RIGGY_HOST", "10.1.2.3")
	c, err := Parse([]byte(`
events:
  iggy:
    topology:
      stream_name: ${RIGGY_NAME}-${RIGGY_UNSET_X:-v2}
      domain_partitions: ${RIGGY_PARTS:-12}
    embedded:
      tcp_port: ${RIGGY_PORT}
      data_dir: "${RIGGY_EMPTY:-/var/lib/iggy}"
    remote:
      addresses: ["${RIGGY_HOST}:${RIGGY_PORT}"]
      username: "$${literal} $HOME"
      password: ${RIGGY_PASS}
`))
	if err != nil {
		t.Fatal(err)
	}
	ig := c.Events.Iggy
	if ig.Topology.StreamName != "events-v2" {
		t.Errorf("stream_name = %q", ig.Topology.StreamName)
	}
	if ig.Topology.DomainPartitions != 12 || ig.Embedded.TCPPort != 9100 {
		t.Errorf("numbers: %d %d", ig.Topology.DomainPartitions, ig.Embedded.TCPPort)
	}
	if ig.Embedded.DataDir != "/var/lib/iggy" {
		t.Errorf("data_dir = %q (an empty variable takes the default)", ig.Embedded.DataDir)
	}
	if ig.Remote.Addresses[0] != "10.1.2.3:9100" {
		t.Errorf("addresses = %v", ig.Remote.Addresses)
	}
	if ig.Remote.Username != "${literal} $HOME" {
		t.Errorf("username = %q ($${ is a literal, a bare $ stays)", ig.Remote.Username)
	}
	if ig.Remote.Password.Reveal() != "null" {
		t.Errorf("password = %q; a string field must stay a string", ig.Remote.Password.Reveal())
	}
}

func TestEnvExpansionNotInKeys(t *testing.T) {
	t.Setenv("RIGGY_KEY", "mode")
	_, err := Parse([]byte("events:\n  iggy:\n    ${RIGGY_KEY}: remote\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown key "${RIGGY_KEY}"`) {
		t.Fatalf("err = %v; keys must not be expanded", err)
	}
}

func TestExpandedValueIsExpandedOnce(t *testing.T) {
	t.Setenv("RIGGY_X", "boom")
	// The anchor's value is walked once even though it is used twice.
	c, err := Parse([]byte("events:\n  iggy:\n    remote:\n      username: &u \"$${RIGGY_X}\"\n      addresses: [\"h:1\"]\n      tls_server_name: *u\n      tls_enabled: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Events.Iggy.Remote.Username != "${RIGGY_X}" || c.Events.Iggy.Remote.TLSServerName != "${RIGGY_X}" {
		t.Fatalf("got %q and %q", c.Events.Iggy.Remote.Username, c.Events.Iggy.Remote.TLSServerName)
	}
}

func TestAliasBombIsCheap(t *testing.T) {
	var b strings.Builder
	b.WriteString("events:\n  iggy:\n    remote:\n      x0: &a0 [\"h:1\"]\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "      x%d: &a%d [*a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1)
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("want an error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSecretRedaction(t *testing.T) {
	c := Default()
	c.Events.Iggy.Remote.Password = "hunter2"
	for _, s := range []string{
		fmt.Sprint(c.Events.Iggy.Remote.Password),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Events.Iggy.Remote.Password),
	} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
		if !strings.Contains(s, Redacted) {
			t.Fatalf("no %s in %s", Redacted, s)
		}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("connecting", "password", c.Events.Iggy.Remote.Password, "remote", c.Events.Iggy.Remote)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), `"password":"[REDACTED]"`) {
		t.Fatalf("secret logged: %s", buf.String())
	}
	if c.Events.Iggy.Remote.Password.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("events:\n  iggy:\n    mode: remote\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.Events.Iggy.Mode != ModeRemote {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("events:\n  iggy:\n    mode: cloud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "events.iggy.mode") {
		t.Fatalf("Load(bad) = %v; want the file and the key named", err)
	}
}

func TestLoadFromEnv(t *testing.T) {
	t.Setenv(EnvConfigPath, "")
	c, err := LoadFromEnv()
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("without %s: %+v, %v", EnvConfigPath, c, err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("events:\n  iggy:\n    serialization: cbor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvConfigPath, path)
	c, err = LoadFromEnv()
	if err != nil || c.Events.Iggy.Serialization != SerializationCBOR {
		t.Fatalf("with %s: %+v, %v", EnvConfigPath, c, err)
	}
	t.Setenv(EnvConfigPath, filepath.Join(t.TempDir(), "nope.yaml"))
	if _, err := LoadFromEnv(); err == nil {
		t.Fatal("missing file: want an error")
	}
}

func examplesDir(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "..", "examples")
}

func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("IGGY_PASSWORD", "from-env")
	c, err := Load(filepath.Join(examplesDir(t), "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Events.Iggy.Remote.Password = "from-env"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("examples/config.yaml = %+v\nwant the seed's defaults plus the password %+v", c, want)
	}
}

func TestExampleConfigNeedsPassword(t *testing.T) {
	t.Setenv("IGGY_PASSWORD", "")
	os.Unsetenv("IGGY_PASSWORD") // t.Setenv restores it afterwards
	_, err := Load(filepath.Join(examplesDir(t), "config.yaml"))
	if err == nil {
		t.Fatal("loaded without IGGY_PASSWORD")
	}
	for _, w := range []string{"config.yaml", "events.iggy.remote.password", "environment variable IGGY_PASSWORD is not set"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestExampleRemoteLoads(t *testing.T) {
	c, err := Load(filepath.Join(examplesDir(t), "remote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Events.Iggy.Remote
	if c.Events.Iggy.Mode != ModeRemote || !reflect.DeepEqual(r.Addresses, []string{"127.0.0.1:8090"}) ||
		r.Username != "iggy" || r.Password.Reveal() != "iggy" || r.Protocol != "tcp" {
		t.Fatalf("examples/remote.yaml = %+v", c.Events.Iggy)
	}
}

// TestExampleDockerFxappLoads loads the fx example image's configuration
// (examples/docker-fxapp.yaml) with the environment the compose file
// gives it, and with the defaults.
func TestExampleDockerFxappLoads(t *testing.T) {
	path := filepath.Join(examplesDir(t), "docker-fxapp.yaml")
	t.Setenv("IGGY_ADDRESS", "127.0.0.1:18090")
	t.Setenv("IGGY_USERNAME", "app")
	t.Setenv("IGGY_PASSWORD", "pw")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Events.Iggy.Remote
	if c.Events.Iggy.Mode != ModeRemote || !reflect.DeepEqual(r.Addresses, []string{"127.0.0.1:18090"}) ||
		r.Username != "app" || r.Password.Reveal() != "pw" {
		t.Fatalf("examples/docker-fxapp.yaml = %+v", c.Events.Iggy)
	}
	os.Unsetenv("IGGY_ADDRESS")
	os.Unsetenv("IGGY_USERNAME")
	if c, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if r := c.Events.Iggy.Remote; !reflect.DeepEqual(r.Addresses, []string{"127.0.0.1:8090"}) || r.Username != "iggy" {
		t.Fatalf("defaults: %+v", r)
	}
	os.Unsetenv("IGGY_PASSWORD")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "IGGY_PASSWORD") {
		t.Fatalf("without IGGY_PASSWORD: %v", err)
	}
}
