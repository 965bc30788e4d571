package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenLine matches the line `rustok-iggy serve` prints once it accepts
// connections: "rustok-iggy: Iggy server listening on tcp://ADDR (data dir
// DIR)".
var listenLine = regexp.MustCompile(`listening on tcp(?:\+tls)?://(\S+)`)

// Bounds of the serve process's life cycle.
const (
	serveStartTimeout = 60 * time.Second
	serveStopTimeout  = 45 * time.Second
)

// serveProc is a `rustok-iggy serve` process, and its restarts on the same
// data directory and address. Its methods are called from the test
// goroutine.
type serveProc struct {
	t       testing.TB
	dataDir string
	// addr is the bound address, fixed by the first start.
	addr string
	out  *tailBuffer // stdout and stderr of every run

	cmd  *exec.Cmd
	done chan struct{} // closed once cmd exited; waitErr is then set
	// waitErr is cmd.Wait's result.
	waitErr error
}

// startServe starts `rustok-iggy serve` on a fresh data directory and a
// free loopback port. When t ends the process gets SIGTERM and must exit
// with status 0.
func startServe(t testing.TB) *serveProc {
	t.Helper()
	if serveBuildErr != nil {
		t.Fatalf("target serve: rustok-iggy could not be built: %v", serveBuildErr)
	}
	p := &serveProc{t: t, dataDir: t.TempDir(), out: newTailBuffer(256 << 10)}
	p.start("127.0.0.1:0")
	t.Cleanup(func() {
		p.stop()
		if p.out.raced() {
			t.Errorf("rustok-iggy serve reported a data race:\n%s", p.out)
		}
	})
	return p
}

// start runs the program and waits for its listening line.
func (p *serveProc) start(addr string) {
	t := p.t
	t.Helper()
	cmd := exec.Command(serveBinary, "serve", "--data-dir", p.dataDir, "--tcp-addr", addr)
	cmd.Env = append(os.Environ(), "IGGY_ROOT_USERNAME=iggy", "IGGY_ROOT_PASSWORD=iggy")
	ready := make(chan string, 1)
	cmd.Stdout = &lineWatcher{tail: p.out, found: ready}
	cmd.Stderr = p.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rustok-iggy serve: %v", err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		p.waitErr = err // read only after done is closed
		close(done)
	}()
	timer := time.NewTimer(serveStartTimeout)
	defer timer.Stop()
	select {
	case a := <-ready:
		p.addr = a
	case <-done:
		t.Fatalf("rustok-iggy serve exited before listening: %v\n%s", p.waitErr, p.out)
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("rustok-iggy serve printed no listening line within %s\n%s", serveStartTimeout, p.out)
	}
	if addr != "127.0.0.1:0" && p.addr != addr {
		t.Fatalf("rustok-iggy serve restarted on %s, want %s", p.addr, addr)
	}
}

// running reports whether the current process has not exited.
func (p *serveProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (p *serveProc) kill() {
	p.t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// restart starts the program again on the same data directory and
// address (after kill).
func (p *serveProc) restart() {
	p.t.Helper()
	if p.running() {
		p.t.Fatalf("restart of a running serve process")
	}
	p.start(p.addr)
}

// stop sends SIGTERM and checks that the process exits with status 0
// within serveStopTimeout.
func (p *serveProc) stop() {
	t := p.t
	t.Helper()
	if !p.running() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to rustok-iggy serve: %v", err)
	}
	timer := time.NewTimer(serveStopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("rustok-iggy serve did not exit within %s of SIGTERM\n%s", serveStopTimeout, p.out)
		return
	}
	if p.waitErr != nil {
		t.Errorf("rustok-iggy serve after SIGTERM: %v (want exit status 0)\n%s", p.waitErr, p.out)
	}
}

// lineWatcher copies a process's stdout to tail and sends the address of
// the first listening line to found.
type lineWatcher struct {
	tail    *tailBuffer
	found   chan<- string
	partial []byte
	sent    bool
}

func (w *lineWatcher) Write(b []byte) (int, error) {
	_, _ = w.tail.Write(b)
	if w.sent {
		return len(b), nil
	}
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		if m := listenLine.FindSubmatch(line); m != nil {
			w.found <- string(m[1])
			w.sent = true
			w.partial = nil
			break
		}
	}
	return len(b), nil
}

// raceReport starts a race detector report in a process's output.
const raceReport = "WARNING: DATA RACE"

// tailBuffer keeps the last max bytes written to it and notes whether a
// race detector report went through. It is safe for concurrent use.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	race bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := max(len(b.buf)-len(raceReport), 0)
	b.buf = append(b.buf, p...)
	if bytes.Contains(b.buf[from:], []byte(raceReport)) {
		b.race = true
	}
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// raced reports whether a race detector report was written.
func (b *tailBuffer) raced() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.race
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// exitedBySignal reports whether err is a process ending by sig.
func exitedBySignal(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
