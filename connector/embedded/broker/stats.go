package broker

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// Version and Semver are what Stats reports as the server version.
const (
	Version        = "0.8.0"
	Semver  uint32 = 8000
)

// Stats is the GetStats answer (fact sheet 5.1). Times are µs; CPU usage
// and cache metrics are not measured and stay zero.
type Stats struct {
	ProcessID           uint32
	CPUUsage            float32
	TotalCPUUsage       float32
	MemoryUsage         uint64 // bytes obtained from the OS by the Go runtime
	TotalMemory         uint64
	AvailableMemory     uint64
	RunTime             uint64
	StartTime           uint64
	ReadBytes           uint64 // message bytes returned by polls
	WrittenBytes        uint64 // message bytes accepted by sends
	MessagesSizeBytes   uint64
	StreamsCount        uint32
	TopicsCount         uint32
	PartitionsCount     uint32
	SegmentsCount       uint32
	MessagesCount       uint64
	ClientsCount        uint32
	ConsumerGroupsCount uint32
	Hostname            string
	OSName              string
	OSVersion           string
	KernelVersion       string
	ServerVersion       string
	ServerSemver        uint32
	ThreadsCount        uint32
	FreeDiskSpace       uint64 // of the file system holding DataDir
	TotalDiskSpace      uint64
}

// GetStats reports the server statistics; needs read_servers (41).
func (b *Broker) GetStats(s *Session) (Stats, error) {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return Stats{}, err
	}
	if !a.readServers() {
		b.mu.RUnlock()
		return Stats{}, errUnauthorized("get stats")
	}
	return b.statsRUnlock(), nil
}

// Diagnostics is what the broker contributes to a snapshot (Iggy's
// GetSnapshotFile): its statistics and its configuration with the root
// password redacted.
type Diagnostics struct {
	Stats  Stats
	Config Config
}

// Diagnostics returns the broker's statistics and configuration for a
// troubleshooting snapshot. As Iggy's snapshot, it needs a logged-in
// session and no permission: 40 before login, 30 for a stale session, 100
// for a closed one, 8 on a closed broker. The statistics are counts only
// (no names); Config.RootPassword is blanked when set and Config.Now and
// Config.Logger are nil.
func (b *Broker) Diagnostics(s *Session) (Diagnostics, error) {
	b.mu.RLock()
	if _, err := b.authed(s); err != nil {
		b.mu.RUnlock()
		return Diagnostics{}, err
	}
	cfg := b.cfg
	st := b.statsRUnlock()
	if cfg.RootPassword != "" {
		cfg.RootPassword = "REDACTED"
	}
	cfg.Now, cfg.Logger = nil, nil
	return Diagnostics{Stats: st, Config: cfg}, nil
}

// statsRUnlock collects the statistics; the caller holds mu for reading,
// and statsRUnlock releases it.
func (b *Broker) statsRUnlock() Stats {
	now := b.nowMicros()
	st := Stats{
		ProcessID:     uint32(os.Getpid()),
		StartTime:     uint64(b.startedAt.UnixMicro()),
		ReadBytes:     b.readBytes.Load(),
		WrittenBytes:  b.writtenBytes.Load(),
		StreamsCount:  uint32(len(b.streams)),
		ClientsCount:  uint32(len(b.clients)),
		OSName:        runtime.GOOS,
		ServerVersion: Version,
		ServerSemver:  Semver,
	}
	if now > st.StartTime {
		st.RunTime = now - st.StartTime
	}
	for _, str := range b.streams {
		st.TopicsCount += uint32(len(str.topics))
		for _, t := range str.topics {
			st.ConsumerGroupsCount += uint32(len(t.groups))
			st.PartitionsCount += uint32(len(t.partitions))
			for _, p := range t.partitions {
				ps := p.log.Stats()
				st.SegmentsCount += uint32(ps.Segments)
				st.MessagesSizeBytes += ps.SizeBytes
				if ps.NextOffset > ps.FirstOffset {
					st.MessagesCount += ps.NextOffset - ps.FirstOffset
				}
			}
		}
	}
	b.mu.RUnlock()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.MemoryUsage = ms.Sys
	st.Hostname, _ = os.Hostname()
	st.ThreadsCount = uint32(pprof.Lookup("threadcreate").Count())
	fillSystemStats(&st, b.cfg.DataDir)
	return st
}
