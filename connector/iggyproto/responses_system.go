package iggyproto

import "math"

// Stats answers GetStats (fact sheet 5.1). Every field is sent (the Go SDK
// fails on a short payload); zeros are fine. Times are µs.
type Stats struct {
	ProcessID           uint32
	CPUUsage            float32
	TotalCPUUsage       float32
	MemoryUsage         uint64
	TotalMemory         uint64
	AvailableMemory     uint64
	RunTime             uint64
	StartTime           uint64
	ReadBytes           uint64
	WrittenBytes        uint64
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
	// ServerVersion is reported as "0.8.0" by Iggy 0.8.0.
	ServerVersion string
	// ServerSemver is major*1_000_000 + minor*1000 + patch (0.8.0 -> 8000),
	// 0 if unknown; see Semver.
	ServerSemver   uint32
	CacheMetrics   []CacheMetric
	ThreadsCount   uint32
	FreeDiskSpace  uint64
	TotalDiskSpace uint64
}

// CacheMetric is one per-partition cache entry of Stats (32 bytes).
type CacheMetric struct {
	StreamID, TopicID, PartitionID uint32
	Hits, Misses                   uint64
	HitRatio                       float32
}

// Semver packs a version as Stats.ServerSemver does.
func Semver(major, minor, patch uint32) uint32 { return major*1_000_000 + minor*1000 + patch }

// AppendStats appends s to dst.
func AppendStats(dst []byte, s Stats) []byte {
	dst = appendU32(dst, s.ProcessID)
	dst = appendU32(dst, math.Float32bits(s.CPUUsage))
	dst = appendU32(dst, math.Float32bits(s.TotalCPUUsage))
	for _, v := range [...]uint64{s.MemoryUsage, s.TotalMemory, s.AvailableMemory, s.RunTime, s.StartTime,
		s.ReadBytes, s.WrittenBytes, s.MessagesSizeBytes} {
		dst = appendU64(dst, v)
	}
	for _, v := range [...]uint32{s.StreamsCount, s.TopicsCount, s.PartitionsCount, s.SegmentsCount} {
		dst = appendU32(dst, v)
	}
	dst = appendU64(dst, s.MessagesCount)
	dst = appendU32(dst, s.ClientsCount)
	dst = appendU32(dst, s.ConsumerGroupsCount)
	for _, v := range [...]string{s.Hostname, s.OSName, s.OSVersion, s.KernelVersion, s.ServerVersion} {
		dst = appendStr32(dst, v)
	}
	dst = appendU32(dst, s.ServerSemver)
	dst = appendU32(dst, uint32(len(s.CacheMetrics)))
	for _, c := range s.CacheMetrics {
		dst = appendU32(appendU32(appendU32(dst, c.StreamID), c.TopicID), c.PartitionID)
		dst = appendU64(appendU64(dst, c.Hits), c.Misses)
		dst = appendU32(dst, math.Float32bits(c.HitRatio))
	}
	dst = appendU32(dst, s.ThreadsCount)
	dst = appendU64(dst, s.FreeDiskSpace)
	return appendU64(dst, s.TotalDiskSpace)
}

// DecodeStats decodes a GetStats payload.
func DecodeStats(b []byte) (Stats, error) {
	r := newRd("stats", b)
	f32 := func(f string) float32 { return math.Float32frombits(r.u32(f)) }
	var s Stats
	s.ProcessID = r.u32("process id")
	s.CPUUsage = f32("cpu usage")
	s.TotalCPUUsage = f32("total cpu usage")
	for _, p := range [...]*uint64{&s.MemoryUsage, &s.TotalMemory, &s.AvailableMemory, &s.RunTime, &s.StartTime,
		&s.ReadBytes, &s.WrittenBytes, &s.MessagesSizeBytes} {
		*p = r.u64("u64 field")
	}
	for _, p := range [...]*uint32{&s.StreamsCount, &s.TopicsCount, &s.PartitionsCount, &s.SegmentsCount} {
		*p = r.u32("count")
	}
	s.MessagesCount = r.u64("messages count")
	s.ClientsCount = r.u32("clients count")
	s.ConsumerGroupsCount = r.u32("consumer groups count")
	for _, p := range [...]*string{&s.Hostname, &s.OSName, &s.OSVersion, &s.KernelVersion, &s.ServerVersion} {
		*p = r.str32("string field")
	}
	s.ServerSemver = r.u32("server semver")
	n := r.u32("cache metrics count")
	if r.err == nil && uint64(n)*32 > uint64(r.remaining()) {
		r.fail(CodeInvalidCommand, "%d cache metrics, %d bytes left", n, r.remaining())
	}
	if r.err == nil && n > 0 {
		s.CacheMetrics = make([]CacheMetric, n)
		for i := range s.CacheMetrics {
			s.CacheMetrics[i] = CacheMetric{StreamID: r.u32("stream id"), TopicID: r.u32("topic id"), PartitionID: r.u32("partition id"),
				Hits: r.u64("hits"), Misses: r.u64("misses"), HitRatio: f32("hit ratio")}
		}
	}
	s.ThreadsCount = r.u32("threads count")
	s.FreeDiskSpace = r.u64("free disk space")
	s.TotalDiskSpace = r.u64("total disk space")
	return done(s, r)
}

// Cluster node roles and statuses, as on the wire.
const (
	RoleLeader   uint8 = 0
	RoleFollower uint8 = 1

	NodeHealthy     uint8 = 0
	NodeStarting    uint8 = 1
	NodeStopping    uint8 = 2
	NodeUnreachable uint8 = 3
	NodeMaintenance uint8 = 4
)

// ClusterMetadata answers GetClusterMetadata. A single-node broker sends
// Name "single-node" and exactly one node (the Go SDK reconnects to another
// address when it sees several).
type ClusterMetadata struct {
	Name  string
	Nodes []ClusterNode
}

// ClusterNode is one node of ClusterMetadata.
type ClusterNode struct {
	Name          string
	IP            string
	TCPPort       uint16
	QUICPort      uint16
	HTTPPort      uint16
	WebSocketPort uint16
	Role          uint8
	Status        uint8
}

// AppendClusterMetadata appends m to dst.
func AppendClusterMetadata(dst []byte, m ClusterMetadata) []byte {
	dst = appendStr32(dst, m.Name)
	dst = appendU32(dst, uint32(len(m.Nodes)))
	for _, n := range m.Nodes {
		dst = appendStr32(appendStr32(dst, n.Name), n.IP)
		for _, p := range [...]uint16{n.TCPPort, n.QUICPort, n.HTTPPort, n.WebSocketPort} {
			dst = append(dst, byte(p), byte(p>>8))
		}
		dst = append(dst, n.Role, n.Status)
	}
	return dst
}

// DecodeClusterMetadata decodes a GetClusterMetadata payload.
func DecodeClusterMetadata(b []byte) (ClusterMetadata, error) {
	r := newRd("cluster metadata", b)
	m := ClusterMetadata{Name: r.str32("cluster name")}
	n := r.u32("nodes count")
	// A node takes at least 18 bytes.
	if r.err == nil && uint64(n)*18 > uint64(r.remaining()) {
		r.fail(CodeInvalidCommand, "%d nodes, %d bytes left", n, r.remaining())
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		m.Nodes = append(m.Nodes, ClusterNode{Name: r.str32("node name"), IP: r.str32("node ip"),
			TCPPort: r.u16("tcp port"), QUICPort: r.u16("quic port"), HTTPPort: r.u16("http port"),
			WebSocketPort: r.u16("websocket port"), Role: r.u8("role"), Status: r.u8("status")})
	}
	return done(m, r)
}
