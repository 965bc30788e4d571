package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/transport"
)

// Free disk space below either of these makes serve's "disk" health check
// Degraded (never Unhealthy: a broker short of space still serves reads,
// and restarting it frees nothing).
const (
	lowDiskBytes   = 1 << 30 // 1 GiB
	lowDiskPercent = 5.0
)

// Health check names of serve's /health report, in report order.
const (
	checkBroker   = "broker"
	checkListener = "listener"
	checkDisk     = "disk"
)

// brokerProbe answers serve's /health and /metrics for a standalone
// broker, which has no transport of its own: it pings the broker and reads
// its statistics in process, through one root session of its own (the
// broker lists it as a client with address probeSessionAddr; the clients
// figures leave it out). It is safe for concurrent use. close ends the
// session.
type brokerProbe struct {
	b       *broker.Broker
	s       *broker.Session
	dataDir string
	tcpURL  string // "tcp://host:port" (or tcp+tls) of the Iggy listener

	// listenerErr is set once the Iggy TCP listener stopped accepting.
	listenerErr atomic.Pointer[error]
}

// probeSessionAddr is the address of the probe's session among the
// broker's clients.
const probeSessionAddr = "in-process:http-api"

func newBrokerProbe(b *broker.Broker, dataDir, tcpURL string) *brokerProbe {
	return &brokerProbe{b: b, s: b.NewSystemSession(probeSessionAddr), dataDir: dataDir, tcpURL: tcpURL}
}

// close ends the probe's session; later checks report the broker
// unhealthy.
func (p *brokerProbe) close() { p.b.CloseSession(p.s) }

// listenerStopped records that the Iggy TCP listener stopped with err.
func (p *brokerProbe) listenerStopped(err error) { p.listenerErr.Store(&err) }

// sample is one ping and statistics read of the broker.
type sample struct {
	rtt      time.Duration
	pingErr  error
	stats    broker.Stats
	statsErr error
}

// read pings the broker and reads its statistics; the error is ctx's
// cause when ctx ended first. The broker's calls wait for its lock but do
// no network I/O. read does not call the broker once ctx has ended, and
// returns when ctx ends even if the broker has not answered (the call in
// flight then finishes on its own goroutine, which ends as soon as the
// broker answers).
func (p *brokerProbe) read(ctx context.Context) (sample, error) {
	if ctx.Err() != nil {
		return sample{}, context.Cause(ctx)
	}
	ch := make(chan sample, 1)
	go func() {
		var s sample
		start := time.Now()
		s.pingErr = p.b.Ping(p.s)
		s.rtt = time.Since(start)
		if s.pingErr == nil {
			s.stats, s.statsErr = p.b.GetStats(p.s)
		}
		ch <- s
	}()
	select {
	case s := <-ch:
		return s, nil
	case <-ctx.Done():
		return sample{}, context.Cause(ctx)
	}
}

// clients is the number of broker clients other than the probe itself.
func clients(st broker.Stats) uint32 {
	if st.ClientsCount > 0 {
		return st.ClientsCount - 1
	}
	return 0
}

// Health reports the standalone broker's health, worst check first
// deciding the status:
//
//   - broker: an in-process ping (Unhealthy when it fails or ctx ends
//     first) and what the broker holds: streams, topics, partitions,
//     consumer groups, messages and their size, connected clients;
//   - listener: the Iggy TCP listener accepting connections, and where;
//   - disk: Unhealthy, with the error, while publishes fail to reach the
//     data directory (a full disk, a read-only or vanished directory) until
//     one succeeds again; else free space of the file system holding the
//     data directory, Degraded below 1 GiB or 5 %, or a note that it is not
//     measured on this platform.
func (p *brokerProbe) Health(ctx context.Context) transport.HealthReport {
	rep := transport.HealthReport{At: time.Now()}
	add := func(name string, st transport.Status, format string, args ...any) {
		rep.Checks = append(rep.Checks, transport.Check{Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
		rep.Status = max(rep.Status, st)
	}
	s, err := p.read(ctx)
	switch {
	case err != nil:
		add(checkBroker, transport.Unhealthy, "no answer to an in-process ping: %v", err)
	case s.pingErr != nil:
		add(checkBroker, transport.Unhealthy, "in-process ping: %v", s.pingErr)
	case s.statsErr != nil:
		add(checkBroker, transport.Unhealthy, "in-process ping %v; stats: %v", s.rtt, s.statsErr)
	default:
		st := s.stats
		add(checkBroker, transport.Healthy, "in-process ping %v; streams=%d topics=%d partitions=%d consumer_groups=%d messages=%d (%s) clients=%d",
			s.rtt, st.StreamsCount, st.TopicsCount, st.PartitionsCount, st.ConsumerGroupsCount, st.MessagesCount, formatBytes(st.MessagesSizeBytes), clients(st))
	}
	if e := p.listenerErr.Load(); e != nil {
		add(checkListener, transport.Unhealthy, "Iggy TCP listener on %s stopped: %v", p.tcpURL, *e)
	} else {
		add(checkListener, transport.Healthy, "accepting Iggy TCP connections on %s", p.tcpURL)
	}
	if at, ferr := p.b.StorageFault(); ferr != nil {
		add(checkDisk, transport.Unhealthy, "writes to data dir %s failing since %s: %v", p.dataDir, at.UTC().Format(time.RFC3339), ferr)
	} else if err != nil || s.pingErr != nil || s.statsErr != nil {
		add(checkDisk, transport.Unhealthy, "not measured: the broker did not answer")
	} else {
		d := diskCheck(s.stats.FreeDiskSpace, s.stats.TotalDiskSpace, p.dataDir)
		add(d.Name, d.Status, "%s", d.Detail)
	}
	return rep
}

// diskCheck judges free of total bytes on the file system holding dataDir:
// Degraded below lowDiskBytes or lowDiskPercent, else Healthy; total 0
// means not measured (Healthy, saying so).
func diskCheck(free, total uint64, dataDir string) transport.Check {
	if total == 0 {
		return transport.Check{Name: checkDisk, Status: transport.Healthy,
			Detail: fmt.Sprintf("free space of data dir %s not measured on %s", dataDir, runtime.GOOS)}
	}
	pct := 100 * float64(free) / float64(total)
	status, note := transport.Healthy, ""
	if free < lowDiskBytes || pct < lowDiskPercent {
		status, note = transport.Degraded, fmt.Sprintf(" (low: below %s or %.0f%%)", formatBytes(lowDiskBytes), lowDiskPercent)
	}
	return transport.Check{Name: checkDisk, Status: status, Detail: fmt.Sprintf("%s free of %s (%.1f%%) on the file system of data dir %s%s",
		formatBytes(free), formatBytes(total), pct, dataDir, note)}
}

// formatBytes renders n bytes with a binary unit: "512 B", "1.5 KiB",
// "3.2 GiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
