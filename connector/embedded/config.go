package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/core"
)

// Environment variables that supply the root credentials when the Config
// fields are empty, as Iggy's server reads them.
const (
	EnvRootUsername = "IGGY_ROOT_USERNAME"
	EnvRootPassword = "IGGY_ROOT_PASSWORD"
)

// Limits of Config fields.
const (
	// MaxSegmentSize is the largest SegmentSize, 2 GiB (the log store's
	// index holds 32-bit positions).
	MaxSegmentSize = 2 << 30
)

// Config configures the embedded connector (YAML section embedded). Zero
// values mean the documented defaults; Open applies them to a copy.
type Config struct {
	// DataDir is the directory holding every file of the broker
	// (data_dir). Required; created if missing.
	DataDir string `yaml:"data_dir"`
	// Fsync is the fsync policy (fsync): "never" leaves flushing to the
	// operating system, "interval" (default) syncs once a second, "always"
	// syncs every write before a send returns. Every policy makes an
	// acknowledged send survive a crash of the process; the policy decides
	// what survives a power loss.
	Fsync string `yaml:"fsync"`
	// SegmentSize is the size in bytes after which a partition's segment
	// file is closed and a new one started (segment_size). Default 0: 1 GiB,
	// Iggy's default; at most 2 GiB. A topic's MaxSize below it is refused
	// (core.ErrInvalid), as Iggy does.
	SegmentSize int64 `yaml:"segment_size"`
	// DedupWindow drops a message whose id was stored in the same
	// partition within the window (dedup_window), as Iggy's message
	// deduplication option does. Default 0: off.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// RebalancingTimeout is how long a consumer-group partition may stay
	// pending hand-over to a joining member before it moves without its
	// owner's commit (rebalancing_timeout), as Iggy 0.8.0's
	// consumer_group.rebalancing_timeout; checked every 5 s. Default 0:
	// 30 s, Iggy's default.
	RebalancingTimeout time.Duration `yaml:"rebalancing_timeout"`
	// TCPAddr is the "host:port" where the broker also listens on the Iggy
	// TCP protocol (tcp_addr), so that other processes, the Iggy CLI and
	// SDKs reach the same data. Port 0 picks a free port (see
	// Broker.TCPAddr). Default "": no listener.
	TCPAddr string `yaml:"tcp_addr"`
	// TLSCertFile and TLSKeyFile are PEM files of the listener's certificate
	// and key (tls_cert_file, tls_key_file). Both or neither; they need
	// TCPAddr. Default: plain TCP, as Iggy.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// Limits of the TCP listener against hostile clients; see
	// server.Config for each. 0 takes the server's default (login 10 s,
	// idle 5 min, read and write 30 s, 1000 logged-in connections, 256
	// pending, 16 pending per address, 256 MiB of frames in flight); a
	// negative duration turns that timeout off.
	LoginTimeout          time.Duration `yaml:"login_timeout"`
	IdleTimeout           time.Duration `yaml:"idle_timeout"`
	ReadTimeout           time.Duration `yaml:"read_timeout"`
	WriteTimeout          time.Duration `yaml:"write_timeout"`
	MaxConnections        int           `yaml:"max_connections"`
	MaxPendingConnections int           `yaml:"max_pending_connections"`
	MaxPendingPerAddr     int           `yaml:"max_pending_per_addr"`
	MaxFrameMemory        int64         `yaml:"max_frame_memory"`
	// RootUsername and RootPassword are the root user's credentials, set
	// when the data directory is created (root_username, root_password;
	// 3 to 50 and 3 to 100 bytes). Empty fields take IGGY_ROOT_USERNAME and
	// IGGY_ROOT_PASSWORD from the environment, then "iggy"/"iggy". The
	// in-process connector itself needs no password: its sessions are
	// root sessions.
	RootUsername string `yaml:"root_username"`
	RootPassword string `yaml:"root_password"`
	// HeartbeatEnabled turns on Iggy's stale client verification
	// (heartbeat_enabled): a TCP client that sends no ping for more than
	// 1.2 HeartbeatInterval is removed, its next command answers
	// StaleClient (30) and its connection is closed. Default false, as in
	// Iggy. The in-process connector's own session is never removed.
	HeartbeatEnabled bool `yaml:"heartbeat_enabled"`
	// HeartbeatInterval is the expected ping interval and the verification
	// period (heartbeat_interval). Default 0: 5 s, as in Iggy.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// Logger receives the broker's and the listener's logs. Nil discards
	// them.
	Logger *slog.Logger `yaml:"-"`
}

// LogValue implements slog.LogValuer: the configuration without the root
// password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.String("fsync", c.Fsync),
		slog.Int64("segment_size", c.SegmentSize),
		slog.String("tcp_addr", c.TCPAddr),
		slog.Bool("tls", c.TLSCertFile != ""),
		slog.String("root_username", c.RootUsername),
		slog.Bool("root_password_set", c.RootPassword != ""),
	)
}

// Validate reports every problem of the configuration, joined, each naming
// its YAML key under embedded and wrapping core.ErrInvalid. The root
// credentials are checked as Open would use them (environment included).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("embedded.%s: %s: %w", key, fmt.Sprintf(format, args...), core.ErrInvalid))
	}
	if c.DataDir == "" {
		bad("data_dir", "required")
	}
	if _, err := parseFsync(c.Fsync); err != nil {
		bad("fsync", "%q is not never, interval or always", c.Fsync)
	}
	if c.DedupWindow < 0 {
		bad("dedup_window", "%s is negative", c.DedupWindow)
	}
	if c.RebalancingTimeout < 0 {
		bad("rebalancing_timeout", "%s is negative", c.RebalancingTimeout)
	}
	if c.HeartbeatInterval < 0 {
		bad("heartbeat_interval", "%s is negative", c.HeartbeatInterval)
	}
	if c.SegmentSize < 0 || c.SegmentSize > MaxSegmentSize {
		bad("segment_size", "%d is out of range 0 to %d", c.SegmentSize, int64(MaxSegmentSize))
	}
	if c.TCPAddr != "" {
		if _, port, err := net.SplitHostPort(c.TCPAddr); err != nil {
			bad("tcp_addr", "%q is not host:port: %v", c.TCPAddr, err)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad("tcp_addr", "%q has no valid port (0 to 65535)", c.TCPAddr)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	if c.TLSCertFile != "" && c.TCPAddr == "" {
		bad("tls_cert_file", "is set but tcp_addr is empty (no listener)")
	}
	user, pass := c.rootCredentials()
	if n := len(user); n < 3 || n > 50 {
		bad("root_username", "must be 3 to 50 bytes, got %d", n)
	}
	if n := len(pass); n < 3 || n > 100 {
		bad("root_password", "must be 3 to 100 bytes, got %d", n)
	}
	return errors.Join(errs...)
}

func parseFsync(s string) (logstore.FsyncPolicy, error) {
	return logstore.ParseFsyncPolicy(s)
}

// rootCredentials returns the root username and password Open uses: the
// field, else the environment, else "iggy".
func (c Config) rootCredentials() (string, string) {
	user, pass := c.RootUsername, c.RootPassword
	if user == "" {
		user = os.Getenv(EnvRootUsername)
	}
	if user == "" {
		user = broker.DefaultRootUsername
	}
	if pass == "" {
		pass = os.Getenv(EnvRootPassword)
	}
	if pass == "" {
		pass = broker.DefaultRootPassword
	}
	return user, pass
}

// withDefaults returns a copy with the defaults in place of zero values.
func (c Config) withDefaults() Config {
	p, _ := parseFsync(c.Fsync)
	c.Fsync = string(p)
	c.RootUsername, c.RootPassword = c.rootCredentials()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// brokerConfig is the broker's configuration for c (defaults applied).
func (c Config) brokerConfig() broker.Config {
	return broker.Config{
		DataDir:            c.DataDir,
		Fsync:              logstore.FsyncPolicy(c.Fsync),
		SegmentSize:        c.SegmentSize,
		DedupWindow:        c.DedupWindow,
		RebalancingTimeout: c.RebalancingTimeout,
		RootUsername:       c.RootUsername,
		RootPassword:       c.RootPassword,
		Logger:             c.Logger,

		HeartbeatEnabled:  c.HeartbeatEnabled,
		HeartbeatInterval: c.HeartbeatInterval,
	}
}
