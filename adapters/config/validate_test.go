package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

func TestValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := func(c *Config) { c.Events.Iggy.Mode = ModeRemote }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // "path: problem" substrings, one per expected problem
	}{
		{"defaults", func(*Config) {}, nil},
		{"remote defaults", remote, nil},
		{"remote with tls", func(c *Config) {
			remote(c)
			c.Events.Iggy.Remote.TLSEnabled = true
			c.Events.Iggy.Remote.TLSCAFile = caFile
			c.Events.Iggy.Remote.TLSServerName = "iggy.example.com"
		}, nil},
		{"limits inclusive", func(c *Config) {
			ig := &c.Events.Iggy
			ig.Topology.DomainPartitions, ig.Topology.ReplicationFactor = 1000, 255
			ig.Topology.StreamName = strings.Repeat("s", 255)
			ig.Embedded.TCPPort, ig.Embedded.HTTPPort = 0, 65535
			ig.Retention = Retention{}
			ig.Publisher.Linger, ig.Remote.ConnectTimeout, ig.Remote.RequestTimeout = 0, 0, 0
			ig.Consumer.MaxBackoff = ig.Consumer.InitialBackoff
			ig.Embedded.BindAddress = "::"
			ig.Serialization, ig.Embedded.Fsync, ig.Consumer.StartFrom, ig.Publisher.Mode = SerializationCBOR, FsyncAlways, StartLatest, PublishAsync
		}, nil},
		{"transport", func(c *Config) { c.Events.Transport = "outbox" }, []string{`events.transport: is "outbox"`}},
		{"mode", func(c *Config) { c.Events.Iggy.Mode = "cloud" }, []string{`events.iggy.mode: is "cloud"`}},
		{"bincode", func(c *Config) { c.Events.Iggy.Serialization = "bincode" }, []string{`events.iggy.serialization: "bincode" has no Go implementation; use "cbor"`}},
		{"serialization", func(c *Config) { c.Events.Iggy.Serialization = "xml" }, []string{`events.iggy.serialization: is "xml"`}},
		{"empty stream", func(c *Config) { c.Events.Iggy.Topology.StreamName = " " }, []string{"events.iggy.topology.stream_name: is empty"}},
		{"long stream", func(c *Config) { c.Events.Iggy.Topology.StreamName = strings.Repeat("s", 256) }, []string{"events.iggy.topology.stream_name: is 256 bytes"}},
		{"zero partitions", func(c *Config) { c.Events.Iggy.Topology.DomainPartitions = 0 }, []string{"events.iggy.topology.domain_partitions: is 0; want 1 to 1000"}},
		{"too many partitions", func(c *Config) { c.Events.Iggy.Topology.DomainPartitions = 1001 }, []string{"events.iggy.topology.domain_partitions: is 1001"}},
		{"replication", func(c *Config) { c.Events.Iggy.Topology.ReplicationFactor = 0 }, []string{"events.iggy.topology.replication_factor: is 0"}},
		{"empty data dir", func(c *Config) { c.Events.Iggy.Embedded.DataDir = "" }, []string{"events.iggy.embedded.data_dir: is empty"}},
		{"data dir unused in remote mode", func(c *Config) { remote(c); c.Events.Iggy.Embedded.DataDir = "" }, nil},
		{"ports", func(c *Config) {
			c.Events.Iggy.Embedded.TCPPort = 70000
			c.Events.Iggy.Embedded.HTTPPort = -1
		}, []string{"events.iggy.embedded.tcp_port: is 70000; want 0 to 65535", "events.iggy.embedded.http_port: is -1"}},
		{"same ports", func(c *Config) { c.Events.Iggy.Embedded.HTTPPort = 8090 }, []string{"events.iggy.embedded.http_port: is the same as tcp_port"}},
		{"bind address", func(c *Config) { c.Events.Iggy.Embedded.BindAddress = "not an address" }, []string{"events.iggy.embedded.bind_address"}},
		{"fsync", func(c *Config) { c.Events.Iggy.Embedded.Fsync = "sometimes" }, []string{`events.iggy.embedded.fsync: is "sometimes"`}},
		{"no addresses in remote mode", func(c *Config) { remote(c); c.Events.Iggy.Remote.Addresses = nil }, []string{"events.iggy.remote.addresses: is empty"}},
		{"no addresses in embedded mode", func(c *Config) { c.Events.Iggy.Remote.Addresses = nil }, nil},
		{"bad addresses", func(c *Config) {
			c.Events.Iggy.Remote.Addresses = []string{"127.0.0.1:8090", "nohost", "h:0", "bad host!:1"}
		}, []string{"events.iggy.remote.addresses[1]", "events.iggy.remote.addresses[2]", "events.iggy.remote.addresses[3]"}},
		{"protocol", func(c *Config) { c.Events.Iggy.Remote.Protocol = "quic" }, []string{`events.iggy.remote.protocol: is "quic"; only "tcp"`}},
		{"username", func(c *Config) { remote(c); c.Events.Iggy.Remote.Username = "" }, []string{"events.iggy.remote.username: is empty"}},
		{"ca file missing", func(c *Config) {
			remote(c)
			c.Events.Iggy.Remote.TLSEnabled = true
			c.Events.Iggy.Remote.TLSCAFile = filepath.Join(t.TempDir(), "missing.pem")
		}, []string{"events.iggy.remote.tls_ca_file: stat"}},
		{"ca file is a directory", func(c *Config) {
			remote(c)
			c.Events.Iggy.Remote.TLSEnabled = true
			c.Events.Iggy.Remote.TLSCAFile = t.TempDir()
		}, []string{"is a directory"}},
		{"tls settings without tls", func(c *Config) {
			c.Events.Iggy.Remote.TLSCAFile = caFile
			c.Events.Iggy.Remote.TLSServerName = "x"
		}, []string{"events.iggy.remote.tls_ca_file: is set but tls_enabled is false", "events.iggy.remote.tls_server_name: is set but tls_enabled is false"}},
		{"negative timeouts", func(c *Config) {
			c.Events.Iggy.Remote.ConnectTimeout = -time.Second
			c.Events.Iggy.Remote.RequestTimeout = -1
		}, []string{"events.iggy.remote.connect_timeout: is -1s", "events.iggy.remote.request_timeout"}},
		{"retention", func(c *Config) {
			c.Events.Iggy.Retention = Retention{DomainMaxAgeDays: -1, DomainMaxSizeGB: MaxRetentionSizeGB + 1, SystemMaxAgeDays: MaxRetentionDays + 1, DLQMaxAgeDays: -5}
		}, []string{"retention.domain_max_age_days", "retention.domain_max_size_gb", "retention.system_max_age_days", "retention.dlq_max_age_days"}},
		{"consumer", func(c *Config) {
			c.Events.Iggy.Consumer = Consumer{MaxAttempts: 0, InitialBackoff: -time.Millisecond, MaxBackoff: -2 * time.Millisecond, StartFrom: "middle", PollBatchSize: 0}
		}, []string{"consumer.max_attempts: is 0", "consumer.initial_backoff: is -1ms", "consumer.max_backoff: is -2ms", `consumer.start_from: is "middle"`, "consumer.poll_batch_size: is 0"}},
		{"backoff order", func(c *Config) { c.Events.Iggy.Consumer.MaxBackoff = time.Millisecond }, []string{"consumer.max_backoff: is 1ms, less than initial_backoff"}},
		{"publisher", func(c *Config) {
			c.Events.Iggy.Publisher = Publisher{Mode: "later", Linger: -1, MaxBatch: 0, Buffer: 0}
		}, []string{`publisher.mode: is "later"`, "publisher.linger", "publisher.max_batch: is 0", "publisher.buffer: is 0"}},
		{"buffer below batch", func(c *Config) { c.Events.Iggy.Publisher.Buffer = 10 }, []string{"publisher.buffer: is 10, less than max_batch (1000)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want errors")
			}
			problems := err.(interface{ Unwrap() []error }).Unwrap()
			if len(problems) != len(tt.want) {
				t.Errorf("%d problems, want %d: %v", len(problems), len(tt.want), err)
			}
			for _, p := range problems {
				var fe *FieldError
				if !errors.As(p, &fe) || !strings.HasPrefix(fe.Path, "events.") {
					t.Errorf("problem %v is not a *FieldError with a key path", p)
				}
				if !errors.Is(p, ErrInvalidConfig) || !errors.Is(p, core.ErrInvalid) {
					t.Errorf("problem %v does not wrap ErrInvalidConfig", p)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`
events:
  iggy:
    mode: remote
    serialization: bincode
    topology:
      domain_partitions: 0
    remote:
      addresses: []
      protocol: http
`))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, w := range []string{"serialization", "topology.domain_partitions", "remote.addresses", "remote.protocol"} {
		if !strings.Contains(err.Error(), "events.iggy."+w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
}

func TestValidateOutbox(t *testing.T) {
	c := Default()
	c.Events.Outbox.Enabled = true
	c.Events.Outbox.Driver = "mysql"
	c.Events.Outbox.DSN = ""
	c.Events.Outbox.Table = "Bad"
	c.Events.Outbox.BatchSize = 0
	c.Events.Outbox.PollInterval = 0
	c.Events.Outbox.MaxPending = -1
	c.Events.Outbox.MaxAttempts = 0
	c.Events.Outbox.DeadLetter = "drop"
	c.Events.Inbox.Table = "a.b"
	err := c.Validate()
	for _, key := range []string{"events.outbox.driver", "events.outbox.dsn", "events.outbox.table", "events.outbox.batch_size", "events.outbox.poll_interval",
		"events.outbox.max_pending", "events.outbox.max_attempts", "events.outbox.dead_letter", "events.inbox.table"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("no error for %s in %v", key, err)
		}
	}
}

func TestParseOutbox(t *testing.T) {
	t.Setenv("OUTBOX_DSN", "postgres://u:p@127.0.0.1/db")
	c, err := Parse([]byte("events:\n  outbox:\n    enabled: true\n    driver: postgres\n    dsn: ${OUTBOX_DSN}\n    batch_size: 50\n    max_pending: 5000\n    dead_letter: mark\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Events.Outbox
	if !o.Enabled || o.Driver != "postgres" || o.DSN.Reveal() != "postgres://u:p@127.0.0.1/db" || o.BatchSize != 50 || o.Table != "rustok_outbox" || o.DedupWindow != 10*time.Minute ||
		o.MaxPending != 5000 || o.DeadLetter != DeadLetterMark || o.MaxAttempts != 5 {
		t.Errorf("outbox = %+v", o)
	}
}
