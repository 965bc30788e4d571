package compose

import (
	"net"
	"strconv"
	"time"

	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/transport"
)

// noLimit stands for "no limit" where the YAML allows 0 = unlimited but
// the connector reads 0 as "default".
const noLimit = 100 * 365 * 24 * time.Hour

// TransportConfig maps the YAML configuration onto the transport's: stream
// and partitions from topology, retention days and GB as durations and
// bytes (0 = forever or unlimited, which the transport spells as a
// negative value), and the consumer and publisher sections. System and DLQ
// topics get the domain partition count and no size cap; health keeps the
// transport's defaults.
func TransportConfig(c config.Config) transport.Config {
	ig := c.Events.Iggy
	keep := func(d time.Duration) time.Duration {
		if d <= 0 {
			return -1 // forever
		}
		return d
	}
	size := int64(-1)
	if s := ig.Retention.DomainMaxSize(); s > 0 {
		size = int64(s)
	}
	linger := ig.Publisher.Linger
	if linger == 0 {
		linger = time.Nanosecond // "send at once"; the transport reads 0 as its default
	}
	return transport.Config{
		Topology: transport.TopologyConfig{
			StreamName:        ig.Topology.StreamName,
			DomainPartitions:  uint32(max(ig.Topology.DomainPartitions, 0)),
			ReplicationFactor: uint8(min(max(ig.Topology.ReplicationFactor, 0), 255)),
		},
		Retention: transport.RetentionConfig{
			Domain: transport.TopicRetention{MaxAge: keep(ig.Retention.DomainMaxAge()), MaxSize: size},
			System: transport.TopicRetention{MaxAge: keep(ig.Retention.SystemMaxAge()), MaxSize: -1},
			DLQ:    transport.TopicRetention{MaxAge: keep(ig.Retention.DLQMaxAge()), MaxSize: -1},
		},
		Publisher: transport.PublisherConfig{
			Mode:       string(ig.Publisher.Mode),
			Linger:     linger,
			MaxBatch:   ig.Publisher.MaxBatch,
			BufferSize: ig.Publisher.Buffer,
		},
		Consumer: transport.ConsumerConfig{
			MaxAttempts:    ig.Consumer.MaxAttempts,
			InitialBackoff: ig.Consumer.InitialBackoff,
			MaxBackoff:     ig.Consumer.MaxBackoff,
			StartFrom:      string(ig.Consumer.StartFrom),
			PollBatch:      uint32(max(ig.Consumer.PollBatchSize, 0)),
		},
	}
}

// EmbeddedConfig maps the YAML configuration onto the embedded connector's:
// data_dir, fsync, rebalancing_timeout, and the Iggy TCP listener on
// bind_address:tcp_port (port 0 picks a free port) with its limits
// (login_timeout ... max_frame_memory) and heartbeat verification
// (heartbeat.enabled, heartbeat.interval). The root credentials come from
// IGGY_ROOT_USERNAME
// and IGGY_ROOT_PASSWORD, else iggy/iggy (see embedded.Config).
func EmbeddedConfig(c config.Config) embedded.Config {
	e := c.Events.Iggy.Embedded
	ec := embedded.Config{
		DataDir: e.DataDir,
		Fsync:   string(e.Fsync),
		TCPAddr: net.JoinHostPort(e.BindAddress, strconv.Itoa(e.TCPPort)),

		RebalancingTimeout: e.RebalancingTimeout,

		LoginTimeout: e.LoginTimeout, IdleTimeout: e.IdleTimeout, ReadTimeout: e.ReadTimeout, WriteTimeout: e.WriteTimeout,
		MaxConnections: e.MaxConnections, MaxPendingConnections: e.MaxPendingConnections,
		MaxPendingPerAddr: e.MaxPendingPerAddr, MaxFrameMemory: e.MaxFrameMemory,

		HeartbeatEnabled: e.Heartbeat.Enabled, HeartbeatInterval: e.Heartbeat.Interval,
	}
	if c.Events.Outbox.Enabled {
		// A relay's republished batch is then stored once.
		ec.DedupWindow = c.Events.Outbox.DedupWindow
	}
	return ec
}

// RemoteConfig maps the YAML configuration onto the remote connector's:
// addresses, username and password, TLS, and the timeouts (0 = no limit).
func RemoteConfig(c config.Config) remote.Config {
	r := c.Events.Iggy.Remote
	timeout := func(d time.Duration) time.Duration {
		if d == 0 {
			return noLimit
		}
		return d
	}
	return remote.Config{
		Addresses: append([]string(nil), r.Addresses...),
		Username:  r.Username,
		Password:  remote.Secret(r.Password.Reveal()),
		TLS: remote.TLSConfig{
			Enabled:    r.TLSEnabled,
			CAFile:     r.TLSCAFile,
			ServerName: r.TLSServerName,
		},
		ConnectTimeout: timeout(r.ConnectTimeout),
		RequestTimeout: timeout(r.RequestTimeout),
	}
}

// HTTPAddr is the address the HTTP API listens on in embedded mode,
// bind_address:http_port, or "" when http_port is 0 (off).
func HTTPAddr(c config.Config) string {
	e := c.Events.Iggy.Embedded
	if e.HTTPPort == 0 {
		return ""
	}
	return net.JoinHostPort(e.BindAddress, strconv.Itoa(e.HTTPPort))
}

// HTTPServerConfig maps events.iggy.embedded.http onto the Iggy HTTP API's
// configuration (token lifetime, CORS). The caller adds the rest (the
// rustok handler, the cluster addresses).
func HTTPServerConfig(c config.Config) httpserver.Config {
	h := c.Events.Iggy.Embedded.HTTP
	return httpserver.Config{
		AccessTokenExpiry: h.AccessTokenExpiry,
		CORS: httpserver.CORSConfig{
			Enabled:             h.CORS.Enabled,
			AllowedOrigins:      h.CORS.AllowedOrigins,
			AllowedMethods:      h.CORS.AllowedMethods,
			AllowedHeaders:      h.CORS.AllowedHeaders,
			ExposedHeaders:      h.CORS.ExposedHeaders,
			AllowCredentials:    h.CORS.AllowCredentials,
			AllowPrivateNetwork: h.CORS.AllowPrivateNetwork,
		},
	}
}
