package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Row kinds decide which machine limit a row is compared with.
const (
	kindWrite   = "write"   // producers: the disk's sequential write rate
	kindRead    = "read"    // consumers: the memcpy rate (data comes from the page cache)
	kindLatency = "latency" // end-to-end: no limit
)

func kindOf(scenario string) string {
	switch scenario {
	case scPinnedProducer, scBalancedProd, scTPSync, scTPAsync, scTPBatch:
		return kindWrite
	case scPinnedConsumer, scBalancedGroup, scTPConsume:
		return kindRead
	}
	return kindLatency
}

// Row is one target and scenario. Rates count payload bytes (the encoded
// envelope at the transport level) in MB of 10^6 bytes.
type Row struct {
	Target     string `json:"target"`
	Scenario   string `json:"scenario"`
	Durability string `json:"durability"`
	Kind       string `json:"kind"`
	// PeerKey is the JetStream row's Scenario this row is compared with.
	PeerKey string `json:"-"`
	IsPeer  bool   `json:"-"`

	Messages   int64   `json:"messages"`
	Bytes      int64   `json:"bytes"`
	ElapsedMS  float64 `json:"elapsed_ms"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	// LatencyOf says what one latency sample is: "batch" (one send or
	// poll of a batch), "call" (one Publish call), "e2e" (send to read of
	// one message); "" when not measured.
	LatencyOf   string  `json:"latency_of,omitempty"`
	Samples     int     `json:"latency_samples,omitempty"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	P999us      float64 `json:"p999_us"`
	CPUNsPerMsg float64 `json:"cpu_ns_per_msg"`
	PeakRSSMB   float64 `json:"peak_rss_mib"`
	// ServerCPUNsPerMsg and ServerPeakRSSMB are a separate server
	// process's CPU time per message (/proc/PID/stat) and peak RSS during
	// the row (rustok-serve and scale rows); CPUNsPerMsg and PeakRSSMB then
	// count only this process (the clients). 0: not measured.
	ServerCPUNsPerMsg float64 `json:"server_cpu_ns_per_msg,omitempty"`
	ServerPeakRSSMB   float64 `json:"server_peak_rss_mib,omitempty"`
	// AllocsPerMsg and AllocBytesPerMsg are Go heap allocations of the
	// whole process during the row, per message.
	AllocsPerMsg     float64 `json:"allocs_per_msg"`
	AllocBytesPerMsg float64 `json:"alloc_bytes_per_msg"`
	// VsPeer compares with the JetStream row: msgs/s divided by
	// JetStream's, or for end-to-end rows (fixed rate) JetStream's p50
	// divided by this row's; above 1 is better. 0: no peer.
	VsPeer float64 `json:"vs_jetstream,omitempty"`
	// CPUVsPeer is CPU per message divided by JetStream's; below 1 is
	// better.
	CPUVsPeer float64 `json:"cpu_vs_jetstream,omitempty"`
	// VsLimit is MB/s divided by the machine limit named by Limit.
	VsLimit float64  `json:"vs_limit,omitempty"`
	Limit   string   `json:"limit,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	Err     string   `json:"error,omitempty"`
}

// brief is the progress line of a finished row.
func (r *Row) brief() string {
	if r.Err != "" {
		return "ERROR " + r.Err
	}
	return fmt.Sprintf("%12.0f msg/s %9.1f MB/s p50 %s p99 %s", r.MsgsPerSec, r.MBPerSec, fmtUS(r.P50us), fmtUS(r.P99us))
}

// Limits are the machine's, measured in the same run.
type Limits struct {
	DiskMBps float64 `json:"disk_write_fdatasync_mb_per_sec"`
	// DiskSyncedMBps is the same write with an fdatasync after each MiB.
	DiskSyncedMBps float64 `json:"disk_write_fdatasync_per_mib_mb_per_sec"`
	DiskBytes      int64   `json:"disk_bytes"`
	DiskDir        string  `json:"disk_dir"`
	MemcpyMBps     float64 `json:"memcpy_mb_per_sec"`
	Err            string  `json:"error,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemoryGB string `json:"memory"`
	GoVer    string `json:"go"`
	OS       string `json:"os"`
	LoadAvg  string `json:"loadavg_at_start"`
}

// Report is the whole run, as --json prints it.
type Report struct {
	Command string  `json:"command"`
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
	Machine Machine `json:"machine"`
	Config  any     `json:"config"`
	Limits  Limits  `json:"limits"`
	Rows    []Row   `json:"rows"`
}

// ratios fills VsPeer and VsLimit.
func (rep *Report) ratios() {
	peers := map[string]*Row{}
	for i := range rep.Rows {
		if r := &rep.Rows[i]; r.IsPeer && r.Err == "" {
			peers[r.PeerKey] = r
		}
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Err != "" {
			continue
		}
		if p := peers[r.PeerKey]; p != nil && !r.IsPeer {
			switch {
			case r.Kind == kindLatency && r.P50us > 0:
				r.VsPeer = p.P50us / r.P50us
			case r.Kind != kindLatency && p.MsgsPerSec > 0:
				r.VsPeer = r.MsgsPerSec / p.MsgsPerSec
			}
			if p.CPUNsPerMsg > 0 { // a separate server's CPU counts too
				r.CPUVsPeer = (r.CPUNsPerMsg + r.ServerCPUNsPerMsg) / p.CPUNsPerMsg
			}
		}
		switch r.Kind {
		case kindWrite:
			// The disk's best sequential rate: on virtual disks whose host
			// caches flushes, small synced writes beat one large flush.
			if d := max(rep.Limits.DiskMBps, rep.Limits.DiskSyncedMBps); d > 0 {
				r.VsLimit, r.Limit = r.MBPerSec/d, "disk"
			}
		case kindRead:
			if rep.Limits.MemcpyMBps > 0 {
				r.VsLimit, r.Limit = r.MBPerSec/rep.Limits.MemcpyMBps, "memcpy"
			}
		}
	}
}

func fmtUS(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.1fµs", v)
	case v < 1000:
		return fmt.Sprintf("%.0fµs", v)
	case v < 1e6:
		return fmt.Sprintf("%.2fms", v/1000)
	}
	return fmt.Sprintf("%.2fs", v/1e6)
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}

func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// writeText prints the report as a table (markdown-compatible with --md).
func (rep *Report) writeText(w io.Writer, md bool) error {
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s memory, %s, %s; load average at start %s\n",
		rep.Machine.CPUs, rep.Machine.CPUModel, rep.Machine.MemoryGB, rep.Machine.OS, rep.Machine.GoVer, rep.Machine.LoadAvg)
	if l := rep.Limits; l.DiskMBps > 0 || l.MemcpyMBps > 0 {
		fmt.Fprintf(w, "limits:  disk sequential write + fdatasync %.0f MB/s, with fdatasync per MiB %.0f MB/s (%d MiB in %s); memcpy %.0f MB/s\n",
			l.DiskMBps, l.DiskSyncedMBps, l.DiskBytes>>20, l.DiskDir, l.MemcpyMBps)
	}
	l := rep.Limits
	if l.Err != "" {
		fmt.Fprintf(w, "limits error: %s\n", l.Err)
	}
	fmt.Fprintf(w, "command: %s\n\n", rep.Command)
	head := []string{"target", "scenario", "durability", "msgs/s", "MB/s", "p50", "p99", "p999", "latency of", "CPU/msg", "allocs/msg", "peak RSS", "vs JetStream", "CPU vs JS", "vs limit"}
	var tw *tabwriter.Writer
	sep := "\t"
	if md {
		sep = " | "
		fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(head, sep))
	}
	out := io.Writer(w)
	if tw != nil {
		out = tw
	}
	for _, r := range rep.Rows {
		var cells []string
		if r.Err != "" {
			cells = []string{r.Target, r.Scenario, r.Durability, "ERROR: " + r.Err, "", "", "", "", "", "", "", "", "", "", ""}
		} else if r.Target == "limits" {
			cells = []string{r.Target, r.Scenario, r.Durability, "-", fmt.Sprintf("%.1f", r.MBPerSec), "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}
		} else {
			lim := "-"
			if r.VsLimit > 0 {
				lim = fmt.Sprintf("%.2f× %s", r.VsLimit, r.Limit)
			}
			cells = []string{r.Target, r.Scenario, r.Durability,
				fmtCount(r.MsgsPerSec), fmt.Sprintf("%.1f", r.MBPerSec),
				fmtUS(r.P50us), fmtUS(r.P99us), fmtUS(r.P999us), orDash(r.LatencyOf),
				r.cpuCell(), fmt.Sprintf("%.1f", r.AllocsPerMsg), r.rssCell(),
				fmtRatio(r.VsPeer), fmtRatio(r.CPUVsPeer), lim}
		}
		if md {
			fmt.Fprintln(out, "| "+strings.Join(cells, sep)+" |")
		} else {
			fmt.Fprintln(out, strings.Join(cells, sep))
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, r := range rep.Rows {
		if len(r.Notes) > 0 {
			fmt.Fprintf(w, "note: %s %s: %s\n", r.Target, r.Scenario, strings.Join(r.Notes, "; "))
		}
	}
	fmt.Fprintf(w, "total %.1fs\n", rep.Seconds)
	return nil
}

// cpuCell is the CPU/msg cell: this process's, plus the server's when a
// separate server process was measured.
func (r *Row) cpuCell() string {
	c := fmt.Sprintf("%.2fµs", r.CPUNsPerMsg/1000)
	if r.ServerCPUNsPerMsg > 0 {
		c += fmt.Sprintf(" + %.2fµs server", r.ServerCPUNsPerMsg/1000)
	}
	return c
}

// rssCell is the peak RSS cell, with the server's when measured.
func (r *Row) rssCell() string {
	c := fmt.Sprintf("%.0f MiB", r.PeakRSSMB)
	if r.ServerPeakRSSMB > 0 {
		c += fmt.Sprintf(" (server %.0f MiB)", r.ServerPeakRSSMB)
	}
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (rep *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
