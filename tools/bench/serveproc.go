package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serveImport is the package of the rustok-iggy command; the rustok-serve
// and scale targets build it once per run (unless --serve-bin names a
// binary).
const serveImport = "github.com/rustok/rustok-iggy/tools/cmd/rustok-iggy"

// serveReadyTimeout bounds the wait for a child's "listening" line.
const serveReadyTimeout = 2 * time.Minute

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// serveBinary returns the rustok-iggy binary: o.serveBin, or one built
// into dir with `go build` (once per run; the result is cached in o).
func serveBinary(ctx context.Context, o *options, dir string) (string, error) {
	if o.serveBin != "" {
		return o.serveBin, nil
	}
	if o.builtServe != "" || o.buildErr != nil {
		return o.builtServe, o.buildErr
	}
	bin := filepath.Join(dir, "rustok-iggy")
	o.logf("building %s", serveImport)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, serveImport)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		o.buildErr = fmt.Errorf("go build %s (run inside the rustok-iggy workspace, or pass --serve-bin): %w: %s",
			serveImport, err, strings.TrimSpace(stderr.String()))
		return "", o.buildErr
	}
	o.builtServe = bin
	return bin, nil
}

// serveProc is a `rustok-iggy serve` child process on a loopback port.
type serveProc struct {
	cmd  *exec.Cmd
	addr string // host:port of its Iggy TCP listener
	// ready is how long the child took from exec to its "listening" line
	// (opening the data directory included).
	ready time.Duration
	// stderr keeps the child's log (the last 64 KiB) for error messages.
	stderr *tailBuffer
	waited chan error // the result of cmd.Wait, sent once
}

// startServe starts `bin serve` on 127.0.0.1:0 with dataDir and waits until
// it prints its listening line.
func startServe(ctx context.Context, bin, dataDir, fsync string) (*serveProc, error) {
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--tcp-addr", "127.0.0.1:0", "--fsync", fsync)
	cmd.Env = append(os.Environ(), envRootUsername+"=iggy", envRootPassword+"=iggy")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &serveProc{cmd: cmd, stderr: &tailBuffer{max: 64 << 10}, waited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	lines := make(chan string, 1)
	go func() { // ends when the child closes stdout (it exits)
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		if first {
			close(lines)
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.waited <- cmd.Wait()
	}()
	timer := time.NewTimer(serveReadyTimeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		p.ready = time.Since(start)
		const marker = "listening on tcp://"
		_, rest, found := strings.Cut(line, marker)
		if !ok || !found {
			p.kill()
			return nil, fmt.Errorf("serve did not start: %q; log: %s", line, p.stderr.String())
		}
		p.addr, _, _ = strings.Cut(rest, " ")
		return p, nil
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("serve printed no listening line within %s; log: %s", serveReadyTimeout, p.stderr.String())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// Names of the root user's variables, as `rustok-iggy serve` reads them.
const (
	envRootUsername = "IGGY_ROOT_USERNAME"
	envRootPassword = "IGGY_ROOT_PASSWORD"
)

// pid is the child's process id.
func (p *serveProc) pid() int { return p.cmd.Process.Pid }

// stop shuts the child down gracefully (SIGTERM) and waits; after 30s it
// is killed.
func (p *serveProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.waited:
		if err != nil {
			return fmt.Errorf("serve exited: %w; log: %s", err, p.stderr.String())
		}
		return nil
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("serve did not stop within 30s after SIGTERM; killed")
	}
}

// kill sends SIGKILL and waits for the child to be gone.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.waited
}

// procCPU returns the user plus system CPU time process pid has used,
// from /proc/PID/stat (all threads; 10ms resolution). ok is false where
// /proc is missing.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// fields after it are plain. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// procStatusKBOf reads one "kB" field of /proc/PID/status (0 when
// missing).
func procStatusKBOf(pid int, field string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	return statusField(f, field)
}

// resetPeakRSS resets the kernel's RSS high-water mark (VmHWM) of pid; it
// reports whether the kernel allowed it.
func resetPeakRSS(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// tailBuffer is an io.Writer keeping the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// serverMeter measures a separate server process during a row: its CPU
// time (/proc/PID/stat) and its peak RSS (VmHWM, reset at the start).
type serverMeter struct {
	pid     int
	cpu0    time.Duration
	cpuOK   bool
	resetOK bool
}

// measuredServer is the separate server process whose costs the rows now
// running count apart from this process's (nil: none). The benchmark runs
// one row at a time, so a plain variable does.
var measuredServer *serveProc

func startServerMeter(p *serveProc) *serverMeter {
	m := &serverMeter{pid: p.pid()}
	m.resetOK = resetPeakRSS(m.pid)
	m.cpu0, m.cpuOK = procCPU(m.pid)
	return m
}

// stop fills the row's server figures.
func (m *serverMeter) stop(r *Row, msgs int64) {
	cpu, ok := procCPU(m.pid)
	if ok && m.cpuOK && msgs > 0 {
		r.ServerCPUNsPerMsg = float64(cpu-m.cpu0) / float64(msgs)
	}
	r.ServerPeakRSSMB = float64(procStatusKBOf(m.pid, "VmHWM:")) / 1024
	if !m.resetOK {
		r.Notes = append(r.Notes, "server peak RSS is the process peak (reset unsupported)")
	}
}
