package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultPoolSize       = 4
	DefaultReconnectMin   = 100 * time.Millisecond
	DefaultReconnectMax   = 5 * time.Second
	DefaultHeartbeat      = 5 * time.Second
	// MaxPoolSize bounds Config.PoolSize.
	MaxPoolSize = 64
)

// Secret is a credential. It prints and logs as "[REDACTED]"; convert it
// with string(s) to read it.
type Secret string

// LogValue implements slog.LogValuer: a secret is never logged.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String returns "[REDACTED]" for a set secret and "" for an empty one, so
// fmt verbs never print the credential.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString keeps %#v from printing the credential.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// TLSConfig configures TLS to the server (YAML key remote.tls).
type TLSConfig struct {
	// Enabled turns TLS on (tls.enabled). Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of CA certificates that verify the server
	// (tls.ca_file). Empty: the system roots.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name checked against the server certificate and
	// sent as SNI (tls.server_name). Empty: the host of the address dialled.
	ServerName string `yaml:"server_name"`
}

// BackoffConfig bounds the exponential backoff between reconnect attempts
// (YAML key remote.reconnect). Each wait is a random duration in
// [d/2, d], where d doubles from Min up to Max.
type BackoffConfig struct {
	// Min is the first wait (reconnect.min). Default 100ms.
	Min time.Duration `yaml:"min"`
	// Max caps the wait (reconnect.max). Default 5s.
	Max time.Duration `yaml:"max"`
}

// Config configures the remote connector (YAML section remote). Zero
// values mean the documented defaults.
type Config struct {
	// Addresses are the servers' TCP addresses, "host:port", tried in
	// order on every (re)connect (addresses). Required.
	Addresses []string `yaml:"addresses"`
	// Username and Password log in (username, password). Either these or
	// Token are required.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Token is a personal access token, used instead of a username and
	// password (token).
	Token Secret `yaml:"token"`
	// TLS configures TLS (tls).
	TLS TLSConfig `yaml:"tls"`
	// ConnectTimeout bounds connecting to one address and logging in
	// (connect_timeout). Default 5s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// RequestTimeout bounds every request, whatever the caller's context
	// (request_timeout). A request that takes longer breaks its
	// connection, which is then replaced. Default 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PoolSize is the number of connections shared by the broker's
	// callers, 1 to 64 (pool_size). Each group member has its own
	// connection on top. Default 4.
	PoolSize int `yaml:"pool_size"`
	// Reconnect bounds the backoff between reconnect attempts (reconnect).
	Reconnect BackoffConfig `yaml:"reconnect"`
	// Heartbeat is how often idle connections are pinged, so that a dead
	// connection is found before a caller needs it and the server's
	// heartbeat verifier sees the client alive (heartbeat). Default 5s;
	// negative turns it off.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// Logger receives connection events. Nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// LogValue implements slog.LogValuer: the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("addresses", c.Addresses),
		slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""),
		slog.Bool("token_set", c.Token != ""),
		slog.Bool("tls", c.TLS.Enabled),
		slog.Duration("connect_timeout", c.ConnectTimeout),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Int("pool_size", c.PoolSize),
	)
}

// Validate reports every problem of the configuration, joined, each naming
// its YAML key under remote.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("remote.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Addresses) == 0 {
		bad("addresses", "at least one address is required")
	}
	for i, a := range c.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			bad(fmt.Sprintf("addresses[%d]", i), "%q is not host:port: %v", a, err)
			continue
		}
		if host == "" {
			bad(fmt.Sprintf("addresses[%d]", i), "%q has no host", a)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			bad(fmt.Sprintf("addresses[%d]", i), "%q has no valid port (1-65535)", a)
		}
	}
	switch {
	case c.Token != "" && (c.Username != "" || c.Password != ""):
		bad("token", "set either token or username and password, not both")
	case c.Token != "":
		if n := len(c.Token); n > 255 {
			bad("token", "is %d bytes, at most 255", n)
		}
	default:
		if n := len(c.Username); n < 3 || n > 50 {
			bad("username", "must be 3 to 50 bytes (or set token), got %d", n)
		}
		if n := len(c.Password); n < 3 || n > 100 {
			bad("password", "must be 3 to 100 bytes, got %d", n)
		}
	}
	if !c.TLS.Enabled {
		if c.TLS.CAFile != "" {
			bad("tls.ca_file", "is set but tls.enabled is false")
		}
		if c.TLS.ServerName != "" {
			bad("tls.server_name", "is set but tls.enabled is false")
		}
	}
	if c.ConnectTimeout < 0 {
		bad("connect_timeout", "must not be negative, got %s", c.ConnectTimeout)
	}
	if c.RequestTimeout < 0 {
		bad("request_timeout", "must not be negative, got %s", c.RequestTimeout)
	}
	if c.PoolSize < 0 || c.PoolSize > MaxPoolSize {
		bad("pool_size", "must be 0 (default %d) to %d, got %d", DefaultPoolSize, MaxPoolSize, c.PoolSize)
	}
	if c.Reconnect.Min < 0 {
		bad("reconnect.min", "must not be negative, got %s", c.Reconnect.Min)
	}
	if c.Reconnect.Max < 0 {
		bad("reconnect.max", "must not be negative, got %s", c.Reconnect.Max)
	}
	if d := c.withDefaults(); c.Reconnect.Min >= 0 && c.Reconnect.Max >= 0 && d.Reconnect.Min > d.Reconnect.Max {
		bad("reconnect.min", "%s is above reconnect.max %s", d.Reconnect.Min, d.Reconnect.Max)
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with defaults in place of zero values.
func (c Config) withDefaults() Config {
	c.Addresses = append([]string(nil), c.Addresses...)
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Reconnect.Min == 0 {
		c.Reconnect.Min = DefaultReconnectMin
	}
	if c.Reconnect.Max == 0 {
		c.Reconnect.Max = DefaultReconnectMax
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
