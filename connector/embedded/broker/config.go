package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/core"
)

// Defaults applied by Open to zero Config fields.
const (
	// DefaultRootUsername is the root user's name created on first start.
	DefaultRootUsername = "iggy"
	// DefaultRootPassword is the root user's password set on first start.
	DefaultRootPassword = "iggy"
	// DefaultSegmentSize is Iggy's default segment size, 1 GiB; it is also
	// the smallest custom max_topic_size accepted.
	DefaultSegmentSize = 1 << 30
	// DefaultRetentionInterval is how often retention is enforced.
	DefaultRetentionInterval = time.Minute
	// DefaultRebalancingTimeout is Iggy 0.8.0's consumer_group.rebalancing_timeout.
	DefaultRebalancingTimeout = 30 * time.Second
	// DefaultRebalancingCheckInterval is Iggy 0.8.0's
	// consumer_group.rebalancing_check_interval.
	DefaultRebalancingCheckInterval = 5 * time.Second
	// DefaultHeartbeatInterval is Iggy's default heartbeat interval.
	DefaultHeartbeatInterval = 5 * time.Second
)

// Config configures a Broker. Zero fields take the documented defaults.
type Config struct {
	// DataDir is the directory holding every file of the broker (yaml
	// data_dir). Required.
	DataDir string
	// Fsync is the fsync policy of partitions and offset logs (yaml
	// fsync): never, interval (default) or always.
	Fsync logstore.FsyncPolicy
	// SegmentSize is bytes per segment file (yaml segment_size); 0 means
	// 1 GiB. A topic's custom max_topic_size below it is refused (1019).
	SegmentSize int64
	// RootUsername and RootPassword set the root user (id 0) created on
	// the first start only; defaults "iggy"/"iggy". Reading the
	// IGGY_ROOT_USERNAME / IGGY_ROOT_PASSWORD environment is the caller's
	// job.
	RootUsername string
	RootPassword string
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time
	// RetentionInterval is how often message expiry and topic size caps
	// are enforced (yaml retention_interval); 0 means one minute.
	RetentionInterval time.Duration
	// DedupWindow turns on message deduplication, as Iggy's server option
	// does: a message whose id was already stored in the same partition
	// within the window is dropped (not stored, no error). 0 (default)
	// turns it off.
	DedupWindow time.Duration
	// LoginThrottleBase is the delay imposed on a login attempt after the
	// first failures (3 are free) for its username or source address; it
	// doubles with each further failure up to LoginThrottleMax, and a
	// success resets it (yaml login_throttle_base). 0 means
	// DefaultLoginThrottleBase (100 ms); negative turns throttling off.
	LoginThrottleBase time.Duration
	// LoginThrottleMax caps that delay (yaml login_throttle_max). 0 means
	// DefaultLoginThrottleMax (500 ms).
	LoginThrottleMax time.Duration
	// RebalancingTimeout is how long a consumer-group partition may stay
	// pending hand-over to a joining member (its owner has not committed
	// what it polled there) before it moves anyway (yaml
	// rebalancing_timeout; Iggy's consumer_group.rebalancing_timeout). 0
	// means DefaultRebalancingTimeout (30 s).
	RebalancingTimeout time.Duration
	// RebalancingCheckInterval is how often pending hand-overs are checked
	// against RebalancingTimeout (yaml rebalancing_check_interval; Iggy's
	// consumer_group.rebalancing_check_interval), so one moves between the
	// timeout and the timeout plus this interval. 0 means
	// DefaultRebalancingCheckInterval (5 s).
	RebalancingCheckInterval time.Duration
	// HeartbeatEnabled turns on Iggy's client heartbeat verification
	// (yaml heartbeat.enabled; Iggy's [heartbeat] enabled): every
	// HeartbeatInterval the broker removes each session that sent no Ping
	// for more than 1.2 intervals (VerifyHeartbeats). Off by default, as
	// in Iggy. Clients must then ping: the official SDKs do so when their
	// heartbeat interval option is set.
	HeartbeatEnabled bool
	// HeartbeatInterval is the expected interval between a client's pings
	// and the verification period (yaml heartbeat.interval); 0 means
	// DefaultHeartbeatInterval (5 s, as Iggy). Ignored unless
	// HeartbeatEnabled.
	HeartbeatInterval time.Duration
}

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, fmt.Errorf("data_dir: required: %w", core.ErrInvalid))
	}
	if c.Fsync != "" {
		if _, err := logstore.ParseFsyncPolicy(string(c.Fsync)); err != nil {
			errs = append(errs, fmt.Errorf("fsync: %w", err))
		}
	}
	if c.SegmentSize < 0 {
		errs = append(errs, fmt.Errorf("segment_size: %d is negative: %w", c.SegmentSize, core.ErrInvalid))
	}
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("dedup_window: %s is negative: %w", c.DedupWindow, core.ErrInvalid))
	}
	if c.LoginThrottleMax < 0 {
		errs = append(errs, fmt.Errorf("login_throttle_max: %s is negative: %w", c.LoginThrottleMax, core.ErrInvalid))
	}
	if c.RebalancingTimeout < 0 {
		errs = append(errs, fmt.Errorf("rebalancing_timeout: %s is negative: %w", c.RebalancingTimeout, core.ErrInvalid))
	}
	if c.RebalancingCheckInterval < 0 {
		errs = append(errs, fmt.Errorf("rebalancing_check_interval: %s is negative: %w", c.RebalancingCheckInterval, core.ErrInvalid))
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("heartbeat.interval: %s is negative: %w", c.HeartbeatInterval, core.ErrInvalid))
	}
	if c.RetentionInterval < 0 {
		errs = append(errs, fmt.Errorf("retention_interval: %s is negative: %w", c.RetentionInterval, core.ErrInvalid))
	}
	if c.RootUsername != "" && (len(c.RootUsername) < 3 || len(c.RootUsername) > 50) {
		errs = append(errs, fmt.Errorf("root_username: length must be 3..50: %w", core.ErrInvalid))
	}
	if c.RootPassword != "" && (len(c.RootPassword) < 3 || len(c.RootPassword) > 100) {
		errs = append(errs, fmt.Errorf("root_password: length must be 3..100: %w", core.ErrInvalid))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Fsync == "" {
		c.Fsync = logstore.FsyncInterval
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	if c.RootUsername == "" {
		c.RootUsername = DefaultRootUsername
	}
	if c.RootPassword == "" {
		c.RootPassword = DefaultRootPassword
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	if c.RebalancingTimeout == 0 {
		c.RebalancingTimeout = DefaultRebalancingTimeout
	}
	if c.RebalancingCheckInterval == 0 {
		c.RebalancingCheckInterval = DefaultRebalancingCheckInterval
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.LoginThrottleBase == 0 {
		c.LoginThrottleBase = DefaultLoginThrottleBase
	}
	if c.LoginThrottleMax == 0 {
		c.LoginThrottleMax = DefaultLoginThrottleMax
	}
	return c
}

// LogValue logs the configuration with the root password redacted.
func (c Config) LogValue() slog.Value {
	pw := ""
	if c.RootPassword != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.String("fsync", string(c.Fsync)),
		slog.Int64("segment_size", c.SegmentSize),
		slog.String("root_username", c.RootUsername),
		slog.String("root_password", pw),
		slog.Duration("retention_interval", c.RetentionInterval),
		slog.Duration("rebalancing_timeout", c.RebalancingTimeout),
		slog.Duration("rebalancing_check_interval", c.RebalancingCheckInterval),
		slog.Bool("heartbeat_enabled", c.HeartbeatEnabled),
		slog.Duration("heartbeat_interval", c.HeartbeatInterval),
	)
}
