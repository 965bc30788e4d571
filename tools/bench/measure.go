package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"
)

// latencies collects duration samples from many goroutines. Each goroutine
// records into its own recorder (no lock on the hot path) and the recorders
// are merged once at the end.
type latencies struct {
	mu   sync.Mutex
	all  []int64 // nanoseconds
	kind string  // what one sample is: "batch", "call", "e2e"
}

func newLatencies(kind string) *latencies { return &latencies{kind: kind} }

// recorder is one goroutine's samples.
type recorder struct{ ns []int64 }

func (r *recorder) add(d time.Duration) { r.ns = append(r.ns, int64(d)) }

// merge adds a goroutine's samples.
func (l *latencies) merge(r *recorder) {
	l.mu.Lock()
	l.all = append(l.all, r.ns...)
	l.mu.Unlock()
}

// quantile returns the q-quantile (0..1) of the samples, nearest rank.
func quantile(sorted []int64, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return time.Duration(sorted[i])
}

// meter measures one row: wall time, CPU time of the whole process
// (getrusage), and the process's peak RSS during the row (the kernel's
// high-water mark, reset at the start of the row where Linux allows it).
// While measuredServer is set, the same figures of that server process
// are taken apart (Row.ServerCPUNsPerMsg, Row.ServerPeakRSSMB).
type meter struct {
	start     time.Time
	cpu0      time.Duration
	rssNote   string
	profiling bool
	mallocs0  uint64
	alloc0    uint64
	// server measures measuredServer, when set, apart from this process.
	server *serverMeter
}

// armedProfile is --profile: a CPU profile of one row's measured part.
type armedProfile struct {
	row  string // "target/scenario"
	out  *os.File
	done bool
}

// armed is set by run when --profile is given; currentRow is the row that
// runs now. The benchmark runs one row at a time, so plain variables do.
var (
	armed      *armedProfile
	currentRow string
)

// beginRow names the row whose measurement comes next.
func beginRow(target, scenario string) { currentRow = target + "/" + scenario }

// startMeter settles the heap (GC, memory returned to the OS), resets the
// peak-RSS mark and starts the clocks.
func startMeter() *meter {
	runtime.GC()
	debug.FreeOSMemory()
	m := &meter{}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		m.rssNote = "process peak (reset unsupported)"
	}
	if a := armed; a != nil && !a.done && a.row == currentRow {
		m.profiling = pprof.StartCPUProfile(a.out) == nil
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs0, m.alloc0 = ms.Mallocs, ms.TotalAlloc
	if measuredServer != nil {
		m.server = startServerMeter(measuredServer)
	}
	m.cpu0 = cpuTime()
	m.start = time.Now()
	return m
}

// stop ends the measurement and fills the row's figures. msgs and bytes
// are what the row moved (payload bytes).
func (m *meter) stop(r *Row, msgs, bytes int64, lat *latencies) {
	elapsed := time.Since(m.start)
	cpu := cpuTime() - m.cpu0
	if m.server != nil {
		m.server.stop(r, msgs)
	}
	if m.profiling {
		pprof.StopCPUProfile()
		armed.done = true
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if msgs > 0 {
		r.AllocsPerMsg = float64(ms.Mallocs-m.mallocs0) / float64(msgs)
		r.AllocBytesPerMsg = float64(ms.TotalAlloc-m.alloc0) / float64(msgs)
	}
	r.Messages = msgs
	r.Bytes = bytes
	r.ElapsedMS = float64(elapsed) / float64(time.Millisecond)
	if secs := elapsed.Seconds(); secs > 0 {
		r.MsgsPerSec = float64(msgs) / secs
		r.MBPerSec = float64(bytes) / secs / 1e6
	}
	if msgs > 0 {
		r.CPUNsPerMsg = float64(cpu) / float64(msgs)
	}
	r.PeakRSSMB = float64(peakRSS()) / (1 << 20)
	if m.rssNote != "" {
		r.Notes = append(r.Notes, m.rssNote)
	}
	if lat != nil && len(lat.all) > 0 {
		slices.Sort(lat.all)
		r.LatencyOf = lat.kind
		r.P50us = us(quantile(lat.all, 0.50))
		r.P99us = us(quantile(lat.all, 0.99))
		r.P999us = us(quantile(lat.all, 0.999))
		r.Samples = len(lat.all)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// peakRSS returns VmHWM of this process in bytes (0 where /proc is
// missing).
func peakRSS() int64 {
	return procStatusKB("VmHWM:") << 10
}

// procStatusKB reads one "kB" field of /proc/self/status.
func procStatusKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	return statusField(f, field)
}

// statusField returns the number of the line of a /proc status file that
// starts with field (0 when there is none).
func statusField(r io.Reader, field string) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(field)) {
			continue
		}
		fs := bytes.Fields(line[len(field):])
		if len(fs) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(string(fs[0]), 10, 64)
		return n
	}
	return 0
}
