package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// FsyncPolicy decides when appended data is forced to stable storage. Every
// policy makes an acknowledged Append survive a crash of the process (the data
// is in the kernel's page cache); the policy decides what survives a power loss.
type FsyncPolicy string

const (
	// FsyncNever leaves flushing to the operating system (and to Sync and Close).
	FsyncNever FsyncPolicy = "never"
	// FsyncInterval flushes every Options.FsyncInterval and on Close. It is the default.
	FsyncInterval FsyncPolicy = "interval"
	// FsyncAlways flushes each group commit before its Appends return.
	FsyncAlways FsyncPolicy = "always"
)

// ParseFsyncPolicy parses "never", "interval" or "always" (case-insensitive,
// surrounding spaces ignored); "" gives FsyncInterval. Anything else is an
// error wrapping core.ErrInvalid.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return FsyncInterval, nil
	case string(FsyncNever):
		return FsyncNever, nil
	case string(FsyncInterval):
		return FsyncInterval, nil
	case string(FsyncAlways):
		return FsyncAlways, nil
	}
	return "", fmt.Errorf("%w: fsync policy %q (want never, interval or always)", core.ErrInvalid, s)
}

// Options configures a Partition. The zero value is valid: 1 GiB segments,
// fsync every second, no retention, no deduplication.
type Options struct {
	// SegmentSize is the size in bytes after which the active segment is
	// closed and a new one started; 0 = 1 GiB. Maximum 2 GiB. A segment may
	// exceed it by at most one batch (a batch is never split across segments).
	SegmentSize int64
	// Fsync is the fsync policy; "" = FsyncInterval.
	Fsync FsyncPolicy
	// FsyncInterval is the flush period under FsyncInterval; 0 = 1s.
	FsyncInterval time.Duration
	// MessageExpiry drops whole closed segments whose newest message is older
	// than this (by server timestamp); 0 = keep forever.
	MessageExpiry time.Duration
	// MaxSize drops the oldest closed segments while the partition holds more
	// than this many bytes; 0 = unlimited.
	MaxSize uint64
	// DedupWindow drops a message whose id was appended within this window;
	// 0 = off.
	DedupWindow time.Duration
	// Logger receives recovery and corruption reports; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil = time.Now. Tests inject a fake one.
	Now func() time.Time
}

const (
	defaultSegmentSize = 1 << 30
	maxSegmentSize     = 2 << 30
	// maxBatchBytes bounds one Append so a segment stays below 4 GiB (index
	// positions are 32-bit).
	maxBatchBytes = 1 << 30
)

// Validate reports every invalid field, joined; each error wraps core.ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	if o.SegmentSize < 0 || o.SegmentSize > maxSegmentSize {
		errs = append(errs, fmt.Errorf("%w: segment_size %d out of range [0, %d]", core.ErrInvalid, o.SegmentSize, int64(maxSegmentSize)))
	}
	if _, err := ParseFsyncPolicy(string(o.Fsync)); err != nil {
		errs = append(errs, fmt.Errorf("fsync: %w", err))
	}
	if o.FsyncInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: fsync_interval %v is negative", core.ErrInvalid, o.FsyncInterval))
	}
	if o.MessageExpiry < 0 {
		errs = append(errs, fmt.Errorf("%w: message_expiry %v is negative", core.ErrInvalid, o.MessageExpiry))
	}
	if o.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("%w: dedup_window %v is negative", core.ErrInvalid, o.DedupWindow))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.SegmentSize == 0 {
		o.SegmentSize = defaultSegmentSize
	}
	o.Fsync, _ = ParseFsyncPolicy(string(o.Fsync))
	if o.FsyncInterval == 0 {
		o.FsyncInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
