package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
)

// The environment variables of Iggy 0.8.0's server configuration that
// serve reads, so that the rustok-iggy image drops in where apache/iggy
// runs. Iggy names them IGGY_ + the config.toml key path, upper case,
// joined by underscores; an empty value counts as unset, as in Iggy.
// They override the --config file and are overridden by flags.
const (
	envSystemPath          = "IGGY_SYSTEM_PATH"                        // --data-dir
	envTCPAddress          = "IGGY_TCP_ADDRESS"                        // --tcp-addr
	envTCPEnabled          = "IGGY_TCP_ENABLED"                        // must not be false: serve always serves TCP
	envTCPTLSEnabled       = "IGGY_TCP_TLS_ENABLED"                    // true: TLS with the two files below
	envTCPTLSCertFile      = "IGGY_TCP_TLS_CERT_FILE"                  // --tls-cert
	envTCPTLSKeyFile       = "IGGY_TCP_TLS_KEY_FILE"                   // --tls-key
	envHTTPEnabled         = "IGGY_HTTP_ENABLED"                       // false: no HTTP; true: IGGY_HTTP_ADDRESS or Iggy's default
	envHTTPAddress         = "IGGY_HTTP_ADDRESS"                       // --http-addr
	envHeartbeatEnabled    = "IGGY_HEARTBEAT_ENABLED"                  // --heartbeat
	envHeartbeatInterval   = "IGGY_HEARTBEAT_INTERVAL"                 // --heartbeat-interval
	envRebalancingTimeout  = "IGGY_CONSUMER_GROUP_REBALANCING_TIMEOUT" // --rebalancing-timeout
	envPartitionFsync      = "IGGY_SYSTEM_PARTITION_ENFORCE_FSYNC"     // true: --fsync always; false: --fsync interval
	defaultIggyHTTPAddress = "127.0.0.1:3000"                          // Iggy's [http] address
)

// applyIggyEnv applies the Iggy environment variables that lookup finds
// to o, except where changed reports that the matching flag was given on
// the command line. It reports every bad value, naming the variable.
func applyIggyEnv(o *serveOptions, lookup func(string) (string, bool), changed func(flag string) bool) error {
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	var errs []error
	boolEnv := func(name string) (value, set bool) {
		v, ok := get(name)
		if !ok {
			return false, false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
			return false, false
		}
		return b, true
	}
	durationEnv := func(name string) (time.Duration, bool) {
		v, ok := get(name)
		if !ok {
			return 0, false
		}
		d, err := parseIggyDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return 0, false
		}
		return d, true
	}

	if v, ok := get(envSystemPath); ok && !changed("data-dir") {
		o.DataDir = v
	}
	if v, ok := get(envTCPAddress); ok && !changed("tcp-addr") {
		o.TCPAddr = v
	}
	if on, ok := boolEnv(envTCPEnabled); ok && !on {
		errs = append(errs, fmt.Errorf("%s: false is not supported: serve always serves the Iggy TCP protocol", envTCPEnabled))
	}
	if on, ok := boolEnv(envTCPTLSEnabled); ok && on && !changed("tls-cert") && !changed("tls-key") {
		cert, certOK := get(envTCPTLSCertFile)
		key, keyOK := get(envTCPTLSKeyFile)
		if !certOK || !keyOK {
			errs = append(errs, fmt.Errorf("%s: true needs %s and %s (serve makes no self-signed certificate)",
				envTCPTLSEnabled, envTCPTLSCertFile, envTCPTLSKeyFile))
		} else {
			o.TLSCert, o.TLSKey = cert, key
		}
	}
	if !changed("http-addr") {
		addr, addrOK := get(envHTTPAddress)
		on, onOK := boolEnv(envHTTPEnabled)
		switch {
		case onOK && !on:
			o.HTTPAddr = ""
		case addrOK:
			o.HTTPAddr = addr
		case onOK && on && o.HTTPAddr == "":
			o.HTTPAddr = defaultIggyHTTPAddress
		}
	}
	if on, ok := boolEnv(envHeartbeatEnabled); ok && !changed("heartbeat") {
		o.Heartbeat = on
	}
	if d, ok := durationEnv(envHeartbeatInterval); ok && !changed("heartbeat-interval") {
		o.HeartbeatInterval = d
	}
	if d, ok := durationEnv(envRebalancingTimeout); ok && !changed("rebalancing-timeout") {
		o.RebalancingTimeout = d
	}
	if on, ok := boolEnv(envPartitionFsync); ok && !changed("fsync") {
		o.Fsync = string(logstore.FsyncInterval)
		if on {
			o.Fsync = string(logstore.FsyncAlways)
		}
	}
	return errors.Join(errs...)
}

// parseIggyDuration parses a duration as Iggy's configuration writes it
// ("5 s", "1 m", "30s", "1m 30s", "500 ms"): Go's time.ParseDuration
// after the spaces are removed, so "d" and other humantime units beyond
// Go's (ns, us, ms, s, m, h) are rejected.
func parseIggyDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 5s, 500ms or 1m 30s", s)
	}
	return d, nil
}
