// Package config loads rustok-iggy's configuration: the YAML of the Rust
// rustok-iggy crate (root key events:, then transport: iggy and iggy:),
// verbatim, plus a few settings this Go implementation adds.
//
// # Loading
//
// [Parse] and [Load] start from [Default], overlay the YAML document on it
// (a key that is absent keeps its default; a key that is present, even with
// 0, overrides it), expand environment variables, and validate. [LoadFromEnv]
// reads the file named by RUSTOK_IGGY_CONFIG, or returns the defaults when it
// is unset.
//
// Scalar values (never keys) may reference the environment: ${VAR} is
// replaced by VAR's value and is an error naming VAR when VAR is unset;
// ${VAR:-default} uses default when VAR is unset or empty; $${ writes a
// literal ${. A value that fills a string field stays a string whatever it
// expands to (so password: ${IGGY_PASSWORD} works for "123" or "null").
//
// Unknown keys are errors that name the key, its path and its line, and so
// are duplicate keys and values of the wrong type. [Config.Validate] reports
// every problem at once, each prefixed with its YAML key path, joined with
// errors.Join; each wraps core.ErrInvalid.
//
// # Keys
//
// The keys of the Rust crate: events.transport, and under events.iggy: mode,
// serialization, topology.{stream_name, domain_partitions,
// replication_factor}, embedded.{data_dir, tcp_port, http_port},
// remote.{addresses, protocol, username, password, tls_enabled} and
// retention.{domain_max_age_days, domain_max_size_gb, system_max_age_days,
// dlq_max_age_days}.
//
// rustok-iggy extensions, also under events.iggy: embedded.{fsync,
// bind_address}, remote.{tls_ca_file, tls_server_name, connect_timeout,
// request_timeout}, consumer.{max_attempts, initial_backoff, max_backoff,
// start_from, poll_batch_size} and publisher.{mode, linger, max_batch,
// buffer}. The Rust crate does not know these keys, so a file using them is
// for the Go implementation only.
//
// Durations are Go duration strings ("100ms", "1m30s"). Secrets (the remote
// password) print and log as "[REDACTED]".
package config

import "time"

// Mode chooses where the broker runs.
type Mode string

// Modes.
const (
	// ModeEmbedded runs an Iggy-compatible broker inside the process.
	ModeEmbedded Mode = "embedded"
	// ModeRemote connects to an external Iggy server.
	ModeRemote Mode = "remote"
)

// Serialization names the envelope codec.
type Serialization string

// Serializations. The Rust crate's "bincode" has no Go implementation and is
// rejected with a pointer to SerializationCBOR.
const (
	SerializationJSON Serialization = "json"
	SerializationCBOR Serialization = "cbor"
)

// Fsync is the embedded broker's fsync policy: what survives a power loss.
type Fsync string

// Fsync policies.
const (
	// FsyncNever leaves flushing to the operating system.
	FsyncNever Fsync = "never"
	// FsyncInterval syncs written segments periodically.
	FsyncInterval Fsync = "interval"
	// FsyncAlways syncs before a publish returns.
	FsyncAlways Fsync = "always"
)

// StartFrom says where a consumer group with no stored offset starts.
type StartFrom string

// Start positions.
const (
	StartEarliest StartFrom = "earliest"
	StartLatest   StartFrom = "latest"
)

// PublishMode says when Publish returns.
type PublishMode string

// Publish modes.
const (
	// PublishSync returns once the event is stored.
	PublishSync PublishMode = "sync"
	// PublishAsync returns once the event is buffered; Acknowledge waits
	// for storage.
	PublishAsync PublishMode = "async"
)

// Limits checked by Validate.
const (
	// MaxPartitions is the most partitions a topic may have (Iggy's
	// limit).
	MaxPartitions = 1000
	// MaxNameLen is the longest stream name, in bytes (Iggy's limit).
	MaxNameLen = 255
	// MaxRetentionDays bounds the retention ages (100 years).
	MaxRetentionDays = 36500
	// MaxRetentionSizeGB bounds domain_max_size_gb (1 PB).
	MaxRetentionSizeGB = 1_000_000
	// MaxPollBatchSize bounds consumer.poll_batch_size.
	MaxPollBatchSize = 100_000
)

// Config is the whole configuration file. It mirrors the YAML: the Go field
// path is the key path (Events.Iggy.Topology.StreamName is
// events.iggy.topology.stream_name).
type Config struct {
	// Events is the events: section.
	Events Events `yaml:"events"`
}

// Events is the events: section.
type Events struct {
	// Transport names the event transport; it must be "iggy" (default).
	Transport string `yaml:"transport"`
	// Iggy configures the Iggy transport.
	Iggy Iggy `yaml:"iggy"`
	// Outbox configures the transactional outbox and its relay.
	Outbox Outbox `yaml:"outbox"`
	// Inbox configures the idempotent consumer's table.
	Inbox Inbox `yaml:"inbox"`
}

// Iggy is the events.iggy: section.
type Iggy struct {
	// Mode is "embedded" (default) or "remote".
	Mode Mode `yaml:"mode"`
	// Serialization is the envelope codec: "json" (default) or "cbor".
	Serialization Serialization `yaml:"serialization"`
	// Topology names the stream and sizes its topics.
	Topology Topology `yaml:"topology"`
	// Embedded configures the in-process broker (mode embedded).
	Embedded Embedded `yaml:"embedded"`
	// Remote configures the connection to an Iggy server (mode remote).
	Remote Remote `yaml:"remote"`
	// Retention says how long events are kept.
	Retention Retention `yaml:"retention"`
	// Consumer configures consumer groups (rustok-iggy extension).
	Consumer Consumer `yaml:"consumer"`
	// Publisher configures publishing (rustok-iggy extension).
	Publisher Publisher `yaml:"publisher"`
}

// Topology is the events.iggy.topology: section.
type Topology struct {
	// StreamName is the Iggy stream holding the domain, system and dlq
	// topics; 1 to 255 bytes. Default "rustok".
	StreamName string `yaml:"stream_name"`
	// DomainPartitions is the partition count of the domain topic, 1 to
	// 1000. Events are spread over partitions by tenant. Default 8.
	DomainPartitions int `yaml:"domain_partitions"`
	// ReplicationFactor is recorded on the topics, 1 to 255. Default 1.
	ReplicationFactor int `yaml:"replication_factor"`
}

// EmbeddedHTTP is the events.iggy.embedded.http: section.
type EmbeddedHTTP struct {
	// AccessTokenExpiry is the lifetime of the access tokens issued at
	// login, as Iggy's http.jwt.access_token_expiry. Default 1h.
	AccessTokenExpiry time.Duration `yaml:"access_token_expiry"`
	// CORS is Iggy's [http.cors]. Default: enabled, any origin.
	CORS HTTPCORS `yaml:"cors"`
}

// HTTPCORS mirrors Iggy's [http.cors] keys.
type HTTPCORS struct {
	// Enabled turns CORS answers on. Default true.
	Enabled bool `yaml:"enabled"`
	// AllowedOrigins lists the allowed origins; "*" allows any. Default
	// ["*"].
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedMethods default ["GET", "POST", "PUT", "DELETE"].
	AllowedMethods []string `yaml:"allowed_methods"`
	// AllowedHeaders default ["content-type", "authorization"].
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposedHeaders default none.
	ExposedHeaders []string `yaml:"exposed_headers"`
	// AllowCredentials answers Access-Control-Allow-Credentials; not with
	// origin "*". Default false.
	AllowCredentials bool `yaml:"allow_credentials"`
	// AllowPrivateNetwork answers Private Network Access preflights.
	// Default false.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
}

// Embedded is the events.iggy.embedded: section.
type Embedded struct {
	// DataDir is where the broker stores its log, relative to the working
	// directory unless absolute. Default "./data/iggy".
	DataDir string `yaml:"data_dir"`
	// TCPPort is the port of the Iggy TCP protocol listener, 0 to 65535;
	// 0 picks a free port. Default 8090.
	TCPPort int `yaml:"tcp_port"`
	// HTTPPort is the port reserved for Iggy's HTTP API, 0 to 65535; 0
	// disables it. Default 3000.
	HTTPPort int `yaml:"http_port"`
	// HTTP configures Iggy's HTTP API served on HTTPPort, with Iggy's
	// [http.jwt] and [http.cors] settings.
	HTTP EmbeddedHTTP `yaml:"http"`
	// BindAddress is the IP address or host name the listeners bind to.
	// Default "127.0.0.1" (loopback only). rustok-iggy extension.
	BindAddress string `yaml:"bind_address"`
	// Fsync is the fsync policy: "never", "interval" (default) or
	// "always". rustok-iggy extension.
	Fsync Fsync `yaml:"fsync"`
	// RebalancingTimeout is how long a consumer-group partition may stay
	// pending hand-over to a joining member, waiting for its owner to
	// commit what it polled there, before it moves anyway (Iggy 0.8.0's
	// consumer_group.rebalancing_timeout). 0 means 30s, Iggy's default.
	// rustok-iggy extension key.
	RebalancingTimeout time.Duration `yaml:"rebalancing_timeout"`

	// Limits of the Iggy TCP listener against hostile or broken clients
	// (rustok-iggy extensions; Iggy has none of them). For each, 0 takes
	// the default; a negative duration turns that timeout off.

	// LoginTimeout is the time a connection has to log in. Default 10s.
	LoginTimeout time.Duration `yaml:"login_timeout"`
	// IdleTimeout closes a logged-in connection silent for this long; keep
	// it well above the clients' heartbeat interval (5s). Default 5m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ReadTimeout bounds receiving one request frame. Default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one response. Default 30s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxConnections caps logged-in connections. Default 1000.
	MaxConnections int `yaml:"max_connections"`
	// MaxPendingConnections caps connections not logged in yet; a new one
	// evicts the oldest. Default 256.
	MaxPendingConnections int `yaml:"max_pending_connections"`
	// MaxPendingPerAddr caps connections not logged in yet from one IP
	// address. Default 16.
	MaxPendingPerAddr int `yaml:"max_pending_per_addr"`
	// MaxFrameMemory is the memory budget in bytes for request frames in
	// flight, shared by all connections. Default 268435456 (256 MiB).
	MaxFrameMemory int64 `yaml:"max_frame_memory"`
	// Heartbeat is Iggy's [heartbeat] section: stale client removal.
	Heartbeat Heartbeat `yaml:"heartbeat"`
}

// Heartbeat is the events.iggy.embedded.heartbeat: section, Iggy's
// [heartbeat] server configuration.
type Heartbeat struct {
	// Enabled turns on the removal of clients that send no ping for more
	// than 1.2 intervals; their next command answers StaleClient (30) and
	// the connection is closed. Default false, as in Iggy. The official
	// SDKs ping every 5 s by default.
	Enabled bool `yaml:"enabled"`
	// Interval is the expected ping interval and the verification period;
	// 0 takes the default. Default 5s, as in Iggy.
	Interval time.Duration `yaml:"interval"`
}

// Remote is the events.iggy.remote: section.
type Remote struct {
	// Addresses are the servers' host:port addresses, tried in order; at
	// least one in remote mode. Default ["127.0.0.1:8090"].
	Addresses []string `yaml:"addresses"`
	// Protocol is the transport protocol; only "tcp" (default) is
	// supported.
	Protocol string `yaml:"protocol"`
	// Username logs in to the server; required in remote mode. Default
	// "rustok".
	Username string `yaml:"username"`
	// Password logs in to the server. It prints as "[REDACTED]". Default
	// empty.
	Password Secret `yaml:"password"`
	// TLSEnabled turns on TLS. Default false.
	TLSEnabled bool `yaml:"tls_enabled"`
	// TLSCAFile is a PEM file of CA certificates to trust instead of the
	// system pool, relative to the working directory unless absolute; it
	// must exist in remote mode. Needs tls_enabled. Default empty.
	// rustok-iggy extension.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSServerName overrides the name checked in the server's
	// certificate; default the host of the address. Needs tls_enabled.
	// rustok-iggy extension.
	TLSServerName string `yaml:"tls_server_name"`
	// ConnectTimeout bounds establishing a connection and logging in; 0
	// means no limit. Default 5s. rustok-iggy extension.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// RequestTimeout bounds one request's round trip; 0 means no limit.
	// Default 30s. rustok-iggy extension.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Retention is the events.iggy.retention: section. Zero means "keep
// forever" (ages) or "unlimited" (size).
type Retention struct {
	// DomainMaxAgeDays is how long domain events are kept, in days, 0 to
	// 36500. Default 30.
	DomainMaxAgeDays int `yaml:"domain_max_age_days"`
	// DomainMaxSizeGB caps the domain topic, in GB (10^9 bytes); the
	// oldest segments go first. 0 to 1000000. Default 10.
	DomainMaxSizeGB int `yaml:"domain_max_size_gb"`
	// SystemMaxAgeDays is how long system events are kept, in days.
	// Default 7.
	SystemMaxAgeDays int `yaml:"system_max_age_days"`
	// DLQMaxAgeDays is how long dead-lettered events are kept, in days.
	// Default 365.
	DLQMaxAgeDays int `yaml:"dlq_max_age_days"`
}

// DomainMaxAge is DomainMaxAgeDays as a duration (0 = forever).
func (r Retention) DomainMaxAge() time.Duration { return days(r.DomainMaxAgeDays) }

// SystemMaxAge is SystemMaxAgeDays as a duration (0 = forever).
func (r Retention) SystemMaxAge() time.Duration { return days(r.SystemMaxAgeDays) }

// DLQMaxAge is DLQMaxAgeDays as a duration (0 = forever).
func (r Retention) DLQMaxAge() time.Duration { return days(r.DLQMaxAgeDays) }

// DomainMaxSize is DomainMaxSizeGB in bytes (0 = unlimited).
func (r Retention) DomainMaxSize() uint64 {
	if r.DomainMaxSizeGB <= 0 {
		return 0
	}
	return uint64(r.DomainMaxSizeGB) * 1_000_000_000
}

func days(n int) time.Duration {
	if n <= 0 || n > MaxRetentionDays {
		return 0
	}
	return time.Duration(n) * 24 * time.Hour
}

// Consumer is the events.iggy.consumer: section, a rustok-iggy extension.
type Consumer struct {
	// MaxAttempts is how often a handler is tried for one event before
	// the event goes to the dead letter queue; at least 1. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff is the wait before the first retry; it doubles per
	// attempt. More than 0. Default 100ms.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait between retries; at least
	// initial_backoff. Default 10s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// StartFrom is where a group with no stored offset starts:
	// "earliest" (default) or "latest".
	StartFrom StartFrom `yaml:"start_from"`
	// PollBatchSize is the most messages fetched per poll, 1 to 100000.
	// Default 100.
	PollBatchSize int `yaml:"poll_batch_size"`
}

// Publisher is the events.iggy.publisher: section, a rustok-iggy extension.
type Publisher struct {
	// Mode is "sync" (default: Publish returns once stored) or "async"
	// (Publish returns once buffered; Acknowledge waits).
	Mode PublishMode `yaml:"mode"`
	// Linger is how long an async batch waits for more events before it
	// is sent; 0 sends at once. Default 1ms.
	Linger time.Duration `yaml:"linger"`
	// MaxBatch is the most events sent in one batch; at least 1. Default
	// 1000.
	MaxBatch int `yaml:"max_batch"`
	// Buffer is the most events an async publisher holds before Publish
	// blocks; at least max_batch. Default 10000.
	Buffer int `yaml:"buffer"`
}

// Default returns the configuration the Rust crate defaults to (embedded,
// json, stream "rustok", 8 partitions, replication 1, ./data/iggy, ports
// 8090 and 3000, remote 127.0.0.1:8090 over tcp as user "rustok", retention
// 30/10/7/365) plus the defaults of the extensions. Each call returns a new
// value; it is valid.
func Default() Config {
	return Config{Events: Events{
		Transport: "iggy",
		Iggy: Iggy{
			Mode:          ModeEmbedded,
			Serialization: SerializationJSON,
			Topology: Topology{
				StreamName:        "rustok",
				DomainPartitions:  8,
				ReplicationFactor: 1,
			},
			Embedded: Embedded{
				DataDir:  "./data/iggy",
				TCPPort:  8090,
				HTTPPort: 3000,
				HTTP: EmbeddedHTTP{AccessTokenExpiry: time.Hour, CORS: HTTPCORS{
					Enabled:        true,
					AllowedOrigins: []string{"*"},
					AllowedMethods: []string{"GET", "POST", "PUT", "DELETE"},
					AllowedHeaders: []string{"content-type", "authorization"},
				}},
				BindAddress: "127.0.0.1",
				Fsync:       FsyncInterval,
			},
			Remote: Remote{
				Addresses:      []string{"127.0.0.1:8090"},
				Protocol:       "tcp",
				Username:       "rustok",
				ConnectTimeout: 5 * time.Second,
				RequestTimeout: 30 * time.Second,
			},
			Retention: Retention{
				DomainMaxAgeDays: 30,
				DomainMaxSizeGB:  10,
				SystemMaxAgeDays: 7,
				DLQMaxAgeDays:    365,
			},
			Consumer: Consumer{
				MaxAttempts:    5,
				InitialBackoff: 100 * time.Millisecond,
				MaxBackoff:     10 * time.Second,
				StartFrom:      StartEarliest,
				PollBatchSize:  100,
			},
			Publisher: Publisher{
				Mode:     PublishSync,
				Linger:   time.Millisecond,
				MaxBatch: 1000,
				Buffer:   10000,
			},
		},
		Outbox: defaultOutbox(),
		Inbox:  defaultInbox(),
	}}
}
