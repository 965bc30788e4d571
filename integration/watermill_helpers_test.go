package integration

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Watermill reconnect scenario (watermill_test.go) runs in three kinds
// of process, all of them this test binary or the rustok-iggy program:
//
//   - the test process owns a `rustok-iggy serve` process through a
//     serveSupervisor, which restarts it, on the same data directory and
//     address, whenever a connection to its control listener asks;
//   - the scenario child (envWatermill=roleWatermillReconnect) runs
//     Watermill's TestReconnect against that serve process with the remote
//     connector, under a testing.Main of its own;
//   - the restart command that TestReconnect runs twice (this binary with
//     the single argument argRestartServe) asks the supervisor to restart
//     serve and exits 0 once the new process listens, 1 if that failed,
//     the way `docker restart` would.
//
// The dispatch happens in init, before TestMain, so that neither child
// builds rustok-iggy again nor runs the package's goroutine leak check:
// TestReconnect leaves a goroutine of its own blocked for good (it ranges
// over a channel it never closes), which would fail that check.
const (
	envWatermill           = "RUSTOK_IT_WATERMILL"
	roleWatermillReconnect = "reconnect"
	// envWatermillServe is the serve process's address, envWatermillControl
	// the supervisor's control listener's.
	envWatermillServe   = "RUSTOK_IT_WATERMILL_SERVE"
	envWatermillControl = "RUSTOK_IT_WATERMILL_CONTROL"
	// argRestartServe is the restart command's only argument.
	argRestartServe = "rustok-it-restart-serve"
)

// Control protocol: the restart command sends ctlRestart, the supervisor
// answers ctlOK or "error: " and the reason, each one line.
const (
	ctlRestart = "restart"
	ctlOK      = "ok"
	// ctlTimeout bounds a whole restart as the command sees it.
	ctlTimeout = serveStopTimeout + serveStartTimeout + 10*time.Second
)

func init() {
	if len(os.Args) == 2 && os.Args[1] == argRestartServe {
		os.Exit(restartServeMain())
	}
	if os.Getenv(envWatermill) == roleWatermillReconnect {
		watermillReconnectMain() // exits
	}
}

// restartServeMain is the restart command: it asks the supervisor at
// envWatermillControl to restart serve and waits for the outcome.
func restartServeMain() int {
	if err := requestRestart(os.Getenv(envWatermillControl)); err != nil {
		fmt.Fprintln(os.Stderr, "restart serve:", err)
		return 1
	}
	return 0
}

func requestRestart(ctl string) error {
	if ctl == "" {
		return fmt.Errorf("%s is not set", envWatermillControl)
	}
	conn, err := net.DialTimeout("tcp", ctl, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(ctlTimeout)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte(ctlRestart + "\n")); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer from the supervisor: %w", err)
	}
	if reply = strings.TrimSuffix(reply, "\n"); reply != ctlOK {
		return errors.New(reply)
	}
	return nil
}

// serveSupervisor owns one `rustok-iggy serve` process at a time and
// restarts it on the same data directory and address for each request on
// its control listener. Requests are served one after the other, so
// overlapping restart commands (TestReconnect starts each in its own
// goroutine) queue up. Unlike serveProc, whose methods belong to the test
// goroutine, it reports failures as errors.
type serveSupervisor struct {
	dataDir string
	addr    string // fixed by the first start
	out     *tailBuffer
	ctl     net.Listener
	done    chan struct{} // closed when loop returned

	mu       sync.Mutex
	cur      *serveRun // guarded by mu
	restarts int       // guarded by mu
}

// serveRun is one run of the serve program.
type serveRun struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd exited; err is then set
	err  error
}

// superviseServe starts serve on a fresh data directory and a free
// loopback port, and its control listener. When t ends, the listener
// closes (after any restart in progress) and the process gets SIGTERM and
// must exit with status 0, without a race report.
func superviseServe(t testing.TB) *serveSupervisor {
	t.Helper()
	if serveBuildErr != nil {
		t.Fatalf("rustok-iggy could not be built: %v", serveBuildErr)
	}
	s := &serveSupervisor{dataDir: t.TempDir(), out: newTailBuffer(256 << 10), done: make(chan struct{})}
	run, addr, err := startRun(s.dataDir, "127.0.0.1:0", s.out)
	if err != nil {
		t.Fatal(err)
	}
	s.cur, s.addr = run, addr
	s.ctl, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = stopRun(run)
		t.Fatalf("control listener: %v", err)
	}
	go s.loop()
	t.Cleanup(func() {
		s.closeControl()
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := stopRun(s.cur); err != nil {
			t.Errorf("%v\n%s", err, s.out)
		}
		if s.out.raced() {
			t.Errorf("rustok-iggy serve reported a data race:\n%s", s.out)
		}
	})
	return s
}

// controlAddr is the address a restart command connects to.
func (s *serveSupervisor) controlAddr() string { return s.ctl.Addr().String() }

// closeControl stops taking restart requests and returns once a restart
// in progress has finished. It may be called more than once.
func (s *serveSupervisor) closeControl() {
	_ = s.ctl.Close()
	<-s.done
}

// restartCount is the number of completed restarts.
func (s *serveSupervisor) restartCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// loop serves restart requests one at a time until the listener closes.
// It owns the goroutine it runs on; closeControl waits for it.
func (s *serveSupervisor) loop() {
	defer close(s.done)
	for {
		conn, err := s.ctl.Accept()
		if err != nil {
			return
		}
		s.serve(conn)
	}
}

func (s *serveSupervisor) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	req, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || req != ctlRestart+"\n" {
		_, _ = fmt.Fprintf(conn, "error: bad request %q (%v)\n", req, err)
		return
	}
	reply := ctlOK
	if err := s.restart(); err != nil {
		reply = "error: " + strings.ReplaceAll(err.Error(), "\n", " | ")
	}
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = fmt.Fprintln(conn, reply)
}

// restart stops the current process with SIGTERM (it must exit 0) and
// starts a new one on the same data directory and address.
func (s *serveSupervisor) restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stopErr := stopRun(s.cur)
	run, addr, err := startRun(s.dataDir, s.addr, s.out)
	if err != nil {
		return errors.Join(stopErr, err)
	}
	s.cur = run
	if addr != s.addr {
		return errors.Join(stopErr, fmt.Errorf("rustok-iggy serve restarted on %s, want %s", addr, s.addr))
	}
	s.restarts++
	return stopErr
}

// startRun runs `rustok-iggy serve` on dataDir and addr, its output going
// to out, and waits for its listening line; it returns the bound address.
func startRun(dataDir, addr string, out *tailBuffer) (*serveRun, string, error) {
	cmd := exec.Command(serveBinary, "serve", "--data-dir", dataDir, "--tcp-addr", addr)
	cmd.Env = append(os.Environ(), "IGGY_ROOT_USERNAME=iggy", "IGGY_ROOT_PASSWORD=iggy")
	ready := make(chan string, 1)
	cmd.Stdout = &lineWatcher{tail: out, found: ready}
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start rustok-iggy serve: %w", err)
	}
	r := &serveRun{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait() // read only after done is closed
		close(r.done)
	}()
	timer := time.NewTimer(serveStartTimeout)
	defer timer.Stop()
	select {
	case a := <-ready:
		return r, a, nil
	case <-r.done:
		return nil, "", fmt.Errorf("rustok-iggy serve exited before listening: %v\n%s", r.err, out)
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-r.done
		return nil, "", fmt.Errorf("rustok-iggy serve printed no listening line within %s\n%s", serveStartTimeout, out)
	}
}

// stopRun sends SIGTERM and waits until the process exits, which it must
// do with status 0 within serveStopTimeout (else it is killed).
func stopRun(r *serveRun) error {
	select {
	case <-r.done:
		return fmt.Errorf("rustok-iggy serve exited on its own: %v", r.err)
	default:
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to rustok-iggy serve: %w", err)
	}
	timer := time.NewTimer(serveStopTimeout)
	defer timer.Stop()
	select {
	case <-r.done:
	case <-timer.C:
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("rustok-iggy serve did not exit within %s of SIGTERM", serveStopTimeout)
	}
	if r.err != nil {
		return fmt.Errorf("rustok-iggy serve after SIGTERM: %w (want exit status 0)", r.err)
	}
	return nil
}
