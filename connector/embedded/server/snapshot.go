package server

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Snapshot types of Iggy 0.8.0's GetSnapshotFile (SystemSnapshotType).
const (
	SnapshotFilesystemOverview uint8 = 1
	SnapshotProcessList        uint8 = 2
	SnapshotResourceUsage      uint8 = 3
	SnapshotTest               uint8 = 4
	SnapshotServerLogs         uint8 = 5
	SnapshotServerConfig       uint8 = 6
	// SnapshotAll stands for every type but Test; it must come alone.
	SnapshotAll uint8 = 100
)

// Snapshot compressions of Iggy 0.8.0 (SnapshotCompression).
const (
	SnapshotStored   uint8 = 1
	SnapshotDeflated uint8 = 2
	SnapshotBzip2    uint8 = 3
	SnapshotZstd     uint8 = 4
	SnapshotLzma     uint8 = 5
	SnapshotXz       uint8 = 6
)

// snapshotNames are the entry names (without ".txt"), as Iggy names them.
var snapshotNames = map[uint8]string{
	SnapshotFilesystemOverview: "filesystem_overview",
	SnapshotProcessList:        "process_list",
	SnapshotResourceUsage:      "resource_usage",
	SnapshotTest:               "test",
	SnapshotServerLogs:         "server_logs",
	SnapshotServerConfig:       "server_config",
}

// snapshotPlan is a validated GetSnapshotFile request.
type snapshotPlan struct {
	method uint16  // zip method of every entry
	types  []uint8 // in request order, SnapshotAll expanded
}

// zip methods beyond archive/zip's Store and Deflate.
const zipMethodZstd uint16 = zstd.ZipMethodWinZip // 93, as Iggy's async_zip writes

// parseSnapshotRequest validates r as Iggy 0.8.0 does: an unknown
// compression or snapshot type, or SnapshotAll beside another type,
// answers InvalidCommand (3). An empty type list is valid and gives an
// empty zip. SnapshotAll expands to every type except Test, in Iggy's
// order. Bzip2, Lzma and Xz have no encoder here: their entries are
// deflated instead (any unzip reads them; the method differs from Iggy's).
func parseSnapshotRequest(r iggyproto.GetSnapshotFile) (snapshotPlan, error) {
	var p snapshotPlan
	switch r.Compression {
	case SnapshotStored:
		p.method = zip.Store
	case SnapshotDeflated, SnapshotBzip2, SnapshotLzma, SnapshotXz:
		p.method = zip.Deflate
	case SnapshotZstd:
		p.method = zipMethodZstd
	default:
		return snapshotPlan{}, iggyproto.Errorf(iggyproto.CodeInvalidCommand, "snapshot compression %d is unknown", r.Compression)
	}
	all := false
	for _, t := range r.Types {
		if t == SnapshotAll {
			all = true
			continue
		}
		if _, ok := snapshotNames[t]; !ok {
			return snapshotPlan{}, iggyproto.Errorf(iggyproto.CodeInvalidCommand, "snapshot type %d is unknown", t)
		}
	}
	if all && len(r.Types) > 1 {
		return snapshotPlan{}, iggyproto.Errorf(iggyproto.CodeInvalidCommand, "snapshot type all must come alone")
	}
	if all {
		p.types = []uint8{SnapshotFilesystemOverview, SnapshotProcessList, SnapshotResourceUsage, SnapshotServerLogs, SnapshotServerConfig}
	} else {
		p.types = append([]uint8(nil), r.Types...)
	}
	return p, nil
}

// snapshotSource is what the snapshot entries are made of.
type snapshotSource struct {
	diag    broker.Diagnostics
	server  Config
	addr    string                // bound address, "" if not listening
	noTCP   bool                  // no TCP listener: server and addr are unset
	extra   string                // further server_config sections (SnapshotOptions.Sections)
	streams func() (string, bool) // visible streams and topics; false without permission
	now     time.Time
}

// SnapshotOptions says what a snapshot reports beside the broker: the
// listeners in front of it. The zero value reports no listener.
type SnapshotOptions struct {
	// TCP is the broker's TCP listener, whose settings and bound address
	// the server_config entry reports. Optional: nil reports the TCP
	// listener as off.
	TCP *Server
	// Sections is further configuration text appended to server_config
	// after the [tcp] section, as "[name]" lines followed by
	// "key = value" lines (the HTTP API passes its [http] sections).
	// Optional.
	Sections string
	// Now stamps the entries and server_config. Default time.Now().
	Now time.Time
}

// Snapshot builds Iggy 0.8.0's system snapshot for session s of b: the
// zip archive GetSnapshotFile (11) answers over TCP and POST /snapshot
// answers over HTTP, one "<type>.txt" entry per requested type, in
// request order, SnapshotAll standing for every type but SnapshotTest.
// Like Iggy it needs a logged-in session (the broker's error otherwise)
// and no permission; the stream listing in resource_usage shows only what
// s may read. An unknown compression or type, or SnapshotAll beside
// another type, is InvalidCommand (3); a zip that cannot be written is
// SnapshotFileCompletionFailed (9000). The TCP server builds its answer
// from the same parts, so both faces answer the same archive.
func Snapshot(b *broker.Broker, s *broker.Session, r iggyproto.GetSnapshotFile, opt SnapshotOptions) ([]byte, error) {
	diag, err := b.Diagnostics(s)
	if err != nil {
		return nil, err
	}
	plan, err := parseSnapshotRequest(r)
	if err != nil {
		return nil, err
	}
	src := snapshotSource{diag: diag, noTCP: opt.TCP == nil, extra: opt.Sections, now: opt.Now,
		streams: (&brokerSession{b: b, s: s}).streamsListing}
	if src.now.IsZero() {
		src.now = time.Now()
	}
	if opt.TCP != nil {
		src.server = opt.TCP.cfg
		if a := opt.TCP.Addr(); a != nil {
			src.addr = a.String()
		}
	}
	zipped, err := buildSnapshot(plan, src)
	if err != nil {
		return nil, iggyproto.Errorf(iggyproto.CodeSnapshotFileCompletionFailed, "snapshot: %v", err)
	}
	return zipped, nil
}

// buildSnapshot writes one "<type>.txt" entry per type of p, in order, to
// a zip archive and returns its bytes (Iggy's GetSnapshotFile answer).
func buildSnapshot(p snapshotPlan, src snapshotSource) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.DefaultCompression)
	})
	zw.RegisterCompressor(zipMethodZstd, zstd.ZipCompressor())
	for _, t := range p.types {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: snapshotNames[t] + ".txt", Method: p.method, Modified: src.now})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(snapshotEntry(t, src)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// snapshotEntry renders one entry. Iggy runs shell commands (ls, ps, top,
// cat); these are their equivalents read from the broker, the Go runtime
// and /proc, which work without a shell and say so where a source is
// missing.
func snapshotEntry(t uint8, src snapshotSource) []byte {
	var b strings.Builder
	switch t {
	case SnapshotTest:
		b.WriteString("test\n") // Iggy: the output of `echo test`
	case SnapshotFilesystemOverview:
		filesystemOverview(&b, src)
	case SnapshotProcessList:
		processList(&b)
	case SnapshotResourceUsage:
		resourceUsage(&b, src)
	case SnapshotServerLogs:
		b.WriteString("=== Server logs ===\n")
		b.WriteString("rustok-iggy keeps no log files: the broker and the TCP server log through the slog.Logger\n")
		b.WriteString("given in their configuration (`rustok-iggy serve` writes to standard error).\n")
		b.WriteString("Collect the logs from wherever that output goes (terminal, journald, container logs).\n")
	case SnapshotServerConfig:
		serverConfig(&b, src)
	}
	return []byte(b.String())
}

func kv(b *strings.Builder, k string, v any) { fmt.Fprintf(b, "%s = %v\n", k, v) }

// filesystemOverview lists the data directory (Iggy lists /tmp and /proc).
func filesystemOverview(b *strings.Builder, src snapshotSource) {
	dir := src.diag.Config.DataDir
	st := src.diag.Stats
	fmt.Fprintf(b, "=== Data directory %s ===\n", dir)
	fmt.Fprintf(b, "free disk space = %d bytes, total = %d bytes\n\n", st.FreeDiskSpace, st.TotalDiskSpace)
	const maxEntries = 10000
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(b, "! %s: %v\n", path, err)
			return nil
		}
		if n++; n > maxEntries {
			fmt.Fprintf(b, "... listing stopped after %d entries\n", maxEntries)
			return fs.SkipAll
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			fmt.Fprintf(b, "! %s: %v\n", rel, err)
			return nil
		}
		fmt.Fprintf(b, "%s %12d %s %s\n", info.Mode(), info.Size(), info.ModTime().UTC().Format(time.RFC3339), rel)
		return nil
	})
	if err != nil {
		fmt.Fprintf(b, "! walk: %v\n", err)
	}
}

// processList reads /proc (Iggy runs `ps aux` and dumps /proc details).
func processList(b *strings.Builder) {
	b.WriteString("=== Process list (/proc) ===\n")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		fmt.Fprintf(b, "not available on %s: %v\n", runtime.GOOS, err)
		return
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	fmt.Fprintf(b, "%8s %8s %5s %10s %8s  %s\n", "PID", "PPID", "STATE", "RSS_KB", "THREADS", "COMMAND")
	for _, pid := range pids {
		p := readProcStatus(fmt.Sprintf("/proc/%d", pid))
		if p == nil {
			continue // exited meanwhile
		}
		fmt.Fprintf(b, "%8d %8s %5s %10s %8s  %s\n", pid, p["PPid"], firstField(p["State"]), strings.TrimSuffix(p["VmRSS"], " kB"), p["Threads"], p["cmd"])
	}
	b.WriteString("\n=== This process (/proc/self/status) ===\n")
	if raw, err := os.ReadFile("/proc/self/status"); err == nil {
		b.Write(raw)
	}
}

// readProcStatus parses dir/status into its fields plus "cmd" (the command
// line, or the name in brackets for kernel threads); nil if unreadable.
func readProcStatus(dir string) map[string]string {
	raw, err := os.ReadFile(dir + "/status")
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	cmd, _ := os.ReadFile(dir + "/cmdline")
	m["cmd"] = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	if m["cmd"] == "" {
		m["cmd"] = "[" + m["Name"] + "]"
	}
	return m
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// resourceUsage reports the broker's statistics, the Go runtime and the
// host's load and memory (Iggy runs `top -H -b -n 1`).
func resourceUsage(b *strings.Builder, src snapshotSource) {
	st := src.diag.Stats
	b.WriteString("=== Broker statistics ===\n")
	kv(b, "process_id", st.ProcessID)
	kv(b, "cpu_usage_percent", st.CPUUsage)
	kv(b, "total_cpu_usage_percent", st.TotalCPUUsage)
	kv(b, "memory_usage_bytes", st.MemoryUsage)
	kv(b, "total_memory_bytes", st.TotalMemory)
	kv(b, "available_memory_bytes", st.AvailableMemory)
	kv(b, "run_time", time.Duration(st.RunTime)*time.Microsecond)
	kv(b, "read_bytes", st.ReadBytes)
	kv(b, "written_bytes", st.WrittenBytes)
	kv(b, "messages_size_bytes", st.MessagesSizeBytes)
	kv(b, "streams", st.StreamsCount)
	kv(b, "topics", st.TopicsCount)
	kv(b, "partitions", st.PartitionsCount)
	kv(b, "segments", st.SegmentsCount)
	kv(b, "messages", st.MessagesCount)
	kv(b, "clients", st.ClientsCount)
	kv(b, "consumer_groups", st.ConsumerGroupsCount)
	kv(b, "threads", st.ThreadsCount)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.WriteString("\n=== Go runtime ===\n")
	kv(b, "go_version", runtime.Version())
	kv(b, "goroutines", runtime.NumGoroutine())
	kv(b, "gomaxprocs", runtime.GOMAXPROCS(0))
	kv(b, "num_cpu", runtime.NumCPU())
	kv(b, "heap_alloc_bytes", ms.HeapAlloc)
	kv(b, "heap_sys_bytes", ms.HeapSys)
	kv(b, "sys_bytes", ms.Sys)
	kv(b, "num_gc", ms.NumGC)

	for _, f := range []string{"/proc/loadavg", "/proc/meminfo", "/proc/self/io"} {
		fmt.Fprintf(b, "\n=== %s ===\n", f)
		if raw, err := os.ReadFile(f); err == nil {
			b.Write(raw)
		} else {
			fmt.Fprintf(b, "not available on %s: %v\n", runtime.GOOS, err)
		}
	}

	b.WriteString("\n=== Streams and topics (those the caller may read) ===\n")
	if list, ok := src.streams(); ok {
		b.WriteString(list)
	} else {
		b.WriteString("not listed: the caller lacks the read_streams permission\n")
	}
}

// serverConfig prints the configuration in force (Iggy prints its
// current_config.toml).
func serverConfig(b *strings.Builder, src snapshotSource) {
	c := src.diag.Config
	fmt.Fprintf(b, "# rustok-iggy broker %s (Iggy-compatible), configuration at %s\n", src.diag.Stats.ServerVersion, src.now.UTC().Format(time.RFC3339))
	b.WriteString("\n[broker]\n")
	kv(b, "data_dir", strconv.Quote(c.DataDir))
	kv(b, "fsync", strconv.Quote(string(c.Fsync)))
	kv(b, "segment_size", c.SegmentSize)
	kv(b, "root_username", strconv.Quote(c.RootUsername))
	kv(b, "root_password", strconv.Quote(c.RootPassword))
	kv(b, "retention_interval", strconv.Quote(c.RetentionInterval.String()))
	kv(b, "dedup_window", strconv.Quote(c.DedupWindow.String()))
	kv(b, "login_throttle_base", strconv.Quote(c.LoginThrottleBase.String()))
	kv(b, "login_throttle_max", strconv.Quote(c.LoginThrottleMax.String()))
	b.WriteString("\n[heartbeat]\n")
	kv(b, "enabled", c.HeartbeatEnabled)
	kv(b, "interval", strconv.Quote(c.HeartbeatInterval.String()))
	if src.noTCP {
		b.WriteString("\n[tcp]\n")
		kv(b, "enabled", false)
	} else {
		tcpConfig(b, src)
	}
	b.WriteString(src.extra)
	b.WriteString("\n[system]\n")
	kv(b, "hostname", strconv.Quote(src.diag.Stats.Hostname))
	kv(b, "os", strconv.Quote(src.diag.Stats.OSName+" "+src.diag.Stats.OSVersion))
	kv(b, "kernel", strconv.Quote(src.diag.Stats.KernelVersion))
	kv(b, "server_version", strconv.Quote(src.diag.Stats.ServerVersion))
}

// tcpConfig prints the TCP listener's settings.
func tcpConfig(b *strings.Builder, src snapshotSource) {
	s := src.server
	b.WriteString("\n[tcp]\n")
	kv(b, "address", strconv.Quote(s.Addr))
	kv(b, "bound_address", strconv.Quote(src.addr))
	kv(b, "tls", s.TLS != nil)
	kv(b, "max_connections", s.MaxConnections)
	kv(b, "max_pending_connections", s.MaxPendingConnections)
	kv(b, "max_pending_per_addr", s.MaxPendingPerAddr)
	kv(b, "login_timeout", strconv.Quote(s.LoginTimeout.String()))
	kv(b, "idle_timeout", strconv.Quote(s.IdleTimeout.String()))
	kv(b, "read_timeout", strconv.Quote(s.ReadTimeout.String()))
	kv(b, "write_timeout", strconv.Quote(s.WriteTimeout.String()))
	kv(b, "max_send_frame", s.MaxSendFrame)
	kv(b, "max_frame_memory", s.MaxFrameMemory)
}
