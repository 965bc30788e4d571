package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem Validate found: the YAML key path and what is
// wrong with its value. It matches ErrInvalidConfig and core.ErrInvalid
// with errors.Is.
type FieldError struct {
	// Path is the key path, for example "events.iggy.topology.domain_partitions".
	Path string
	// Problem says what is wrong.
	Problem string
}

// Error returns "<path>: <problem>".
func (e *FieldError) Error() string { return e.Path + ": " + e.Problem }

// Unwrap returns ErrInvalidConfig.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// Validate reports every problem of c at once, joined with errors.Join;
// each is a *FieldError naming its YAML key path. It reads the file system
// only to check that remote.tls_ca_file exists. Settings of the mode not in
// use are checked for range but not for presence (an empty remote.addresses
// is fine in embedded mode).
func (c Config) Validate() error {
	var v validator
	const ev = "events"
	if c.Events.Transport != "iggy" {
		v.add(ev+".transport", "is %q; this module implements only \"iggy\"", c.Events.Transport)
	}
	ig := c.Events.Iggy
	const p = ev + ".iggy"
	if ig.Mode != ModeEmbedded && ig.Mode != ModeRemote {
		v.add(p+".mode", "is %q; want \"embedded\" or \"remote\"", ig.Mode)
	}
	switch ig.Serialization {
	case SerializationJSON, SerializationCBOR:
	case "bincode":
		v.add(p+".serialization", "\"bincode\" has no Go implementation; use \"cbor\" for a compact binary encoding (or \"json\" to share the stream with Rust services)")
	default:
		v.add(p+".serialization", "is %q; want \"json\" or \"cbor\"", ig.Serialization)
	}

	t := ig.Topology
	switch {
	case strings.TrimSpace(t.StreamName) == "":
		v.add(p+".topology.stream_name", "is empty")
	case len(t.StreamName) > MaxNameLen:
		v.add(p+".topology.stream_name", "is %d bytes; the limit is %d", len(t.StreamName), MaxNameLen)
	}
	v.between(p+".topology.domain_partitions", t.DomainPartitions, 1, MaxPartitions)
	v.between(p+".topology.replication_factor", t.ReplicationFactor, 1, 255)

	e := ig.Embedded
	embedded := ig.Mode == ModeEmbedded
	if embedded && strings.TrimSpace(e.DataDir) == "" {
		v.add(p+".embedded.data_dir", "is empty")
	}
	v.between(p+".embedded.tcp_port", e.TCPPort, 0, 65535)
	v.between(p+".embedded.http_port", e.HTTPPort, 0, 65535)
	v.nonNegative(p+".embedded.http.access_token_expiry", e.HTTP.AccessTokenExpiry)
	if c := e.HTTP.CORS; c.Enabled && c.AllowCredentials && slices.Contains(c.AllowedOrigins, "*") {
		v.add(p+".embedded.http.cors.allow_credentials", "cannot be used with allowed_origins \"*\"")
	}
	if embedded && e.TCPPort != 0 && e.TCPPort == e.HTTPPort {
		v.add(p+".embedded.http_port", "is the same as tcp_port (%d)", e.TCPPort)
	}
	for _, c := range []struct {
		key string
		n   int
	}{{"max_connections", e.MaxConnections}, {"max_pending_connections", e.MaxPendingConnections}, {"max_pending_per_addr", e.MaxPendingPerAddr}} {
		if c.n < 0 {
			v.add(p+".embedded."+c.key, "is %d; want 0 (default) or more", c.n)
		}
	}
	v.nonNegative(p+".embedded.rebalancing_timeout", e.RebalancingTimeout)
	if e.MaxFrameMemory < 0 {
		v.add(p+".embedded.max_frame_memory", "is %d; want 0 (default) or more", e.MaxFrameMemory)
	}
	if e.Heartbeat.Interval < 0 {
		v.add(p+".embedded.heartbeat.interval", "is %s; want 0 (default) or more", e.Heartbeat.Interval)
	}
	if !validHost(e.BindAddress) {
		v.add(p+".embedded.bind_address", "is %q; want an IP address or host name", e.BindAddress)
	}
	switch e.Fsync {
	case FsyncNever, FsyncInterval, FsyncAlways:
	default:
		v.add(p+".embedded.fsync", "is %q; want \"never\", \"interval\" or \"always\"", e.Fsync)
	}

	r := ig.Remote
	remote := ig.Mode == ModeRemote
	if remote && len(r.Addresses) == 0 {
		v.add(p+".remote.addresses", "is empty; remote mode needs at least one host:port")
	}
	for i, a := range r.Addresses {
		if err := checkAddress(a); err != nil {
			v.add(fmt.Sprintf("%s.remote.addresses[%d]", p, i), "%q: %v", a, err)
		}
	}
	if r.Protocol != "tcp" {
		v.add(p+".remote.protocol", "is %q; only \"tcp\" is supported", r.Protocol)
	}
	if remote && strings.TrimSpace(r.Username) == "" {
		v.add(p+".remote.username", "is empty; remote mode logs in with a user name")
	}
	if r.TLSCAFile != "" {
		if !r.TLSEnabled {
			v.add(p+".remote.tls_ca_file", "is set but tls_enabled is false")
		}
		if remote {
			if st, err := os.Stat(r.TLSCAFile); err != nil {
				v.add(p+".remote.tls_ca_file", "%v", err)
			} else if st.IsDir() {
				v.add(p+".remote.tls_ca_file", "%s is a directory", r.TLSCAFile)
			}
		}
	}
	if r.TLSServerName != "" && !r.TLSEnabled {
		v.add(p+".remote.tls_server_name", "is set but tls_enabled is false")
	}
	v.nonNegative(p+".remote.connect_timeout", r.ConnectTimeout)
	v.nonNegative(p+".remote.request_timeout", r.RequestTimeout)

	rt := ig.Retention
	v.between(p+".retention.domain_max_age_days", rt.DomainMaxAgeDays, 0, MaxRetentionDays)
	v.between(p+".retention.domain_max_size_gb", rt.DomainMaxSizeGB, 0, MaxRetentionSizeGB)
	v.between(p+".retention.system_max_age_days", rt.SystemMaxAgeDays, 0, MaxRetentionDays)
	v.between(p+".retention.dlq_max_age_days", rt.DLQMaxAgeDays, 0, MaxRetentionDays)

	cs := ig.Consumer
	v.between(p+".consumer.max_attempts", cs.MaxAttempts, 1, 1_000_000)
	if cs.InitialBackoff <= 0 {
		v.add(p+".consumer.initial_backoff", "is %v; want more than 0", cs.InitialBackoff)
	}
	if cs.MaxBackoff < cs.InitialBackoff {
		v.add(p+".consumer.max_backoff", "is %v, less than initial_backoff (%v)", cs.MaxBackoff, cs.InitialBackoff)
	}
	if cs.StartFrom != StartEarliest && cs.StartFrom != StartLatest {
		v.add(p+".consumer.start_from", "is %q; want \"earliest\" or \"latest\"", cs.StartFrom)
	}
	v.between(p+".consumer.poll_batch_size", cs.PollBatchSize, 1, MaxPollBatchSize)

	pb := ig.Publisher
	if pb.Mode != PublishSync && pb.Mode != PublishAsync {
		v.add(p+".publisher.mode", "is %q; want \"sync\" or \"async\"", pb.Mode)
	}
	v.nonNegative(p+".publisher.linger", pb.Linger)
	v.between(p+".publisher.max_batch", pb.MaxBatch, 1, 1_000_000)
	if pb.Buffer < 1 {
		v.add(p+".publisher.buffer", "is %d; want at least 1", pb.Buffer)
	} else if pb.MaxBatch >= 1 && pb.Buffer < pb.MaxBatch {
		v.add(p+".publisher.buffer", "is %d, less than max_batch (%d)", pb.Buffer, pb.MaxBatch)
	}
	v.outbox(c.Events.Outbox, c.Events.Inbox)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) between(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, "is %d; want %d to %d", n, lo, hi)
	}
}

func (v *validator) nonNegative(path string, d time.Duration) {
	if d < 0 {
		v.add(path, "is %v; want 0 or more", d)
	}
}

// checkAddress checks a host:port with a port of 1 to 65535.
func checkAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if !validHost(host) {
		return fmt.Errorf("bad host %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not 1 to 65535", port)
	}
	return nil
}

// validHost accepts an IP address or a DNS host name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
