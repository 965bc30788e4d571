package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// TestMain lets a test run this binary as the rustok-iggy program.
func TestMain(m *testing.M) {
	if os.Getenv("RUSTOK_IGGY_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

var listenLine = regexp.MustCompile(`listening on tcp(?:\+tls)?://(\S+) `)

// startServe runs "rustok-iggy serve" with args in a child process and
// returns it and the address it printed.
func startServe(t *testing.T, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "RUSTOK_IGGY_TEST_RUN_MAIN=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v; stderr:\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	m := listenLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected first line %q", line)
	}
	return cmd, m[1]
}

// call sends one request and returns the response status and payload.
func call(t *testing.T, c net.Conn, req iggyproto.Request) (iggyproto.Code, []byte) {
	t.Helper()
	frame, err := iggyproto.AppendRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	h, p, err := iggyproto.ReadResponse(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h.Status, p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestServeGracefulShutdownAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"IGGY_ROOT_USERNAME=admin", "IGGY_ROOT_PASSWORD=s3cret-pw"}
	cmd, addr := startServe(t, env, "--data-dir", dir, "--tcp-addr", "127.0.0.1:0", "--fsync", "always")

	c := dial(t, addr)
	if st, _ := call(t, c, iggyproto.LoginUser{Username: "iggy", Password: "iggy"}); st != iggyproto.CodeInvalidCredentials {
		t.Fatalf("default root login: %d", st)
	}
	if st, _ := call(t, c, iggyproto.LoginUser{Username: "admin", Password: "s3cret-pw"}); st != 0 {
		t.Fatalf("login: %d", st)
	}
	if st, _ := call(t, c, iggyproto.CreateStream{Name: "kept"}); st != 0 {
		t.Fatalf("create stream: %d", st)
	}
	// SIGTERM: the idle connection is closed, the process exits 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("connection still open after SIGTERM: %d %v", n, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}

	// Same data dir: the stream and the root user (created on the first
	// start only) are still there.
	cmd2, addr2 := startServe(t, nil, "--data-dir", dir, "--tcp-addr", "127.0.0.1:0")
	c2 := dial(t, addr2)
	if st, _ := call(t, c2, iggyproto.LoginUser{Username: "admin", Password: "s3cret-pw"}); st != 0 {
		t.Fatalf("login after restart: %d", st)
	}
	st, p := call(t, c2, iggyproto.GetStream{Stream: iggyproto.NamedID("kept")})
	if st != 0 || len(p) == 0 {
		t.Fatalf("stream after restart: %d, %d bytes", st, len(p))
	}
	if err := cmd2.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}

func TestServeConfigFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "rustok.yaml")
	yaml := "events:\n  transport: iggy\n  iggy:\n    embedded:\n      data_dir: " + filepath.Join(dir, "from-config") +
		"\n      tcp_port: 0\n      http_port: 0\n      fsync: never\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	pr, pw := io.Pipe()
	root.SetOut(pw)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"--config", cfgPath, "serve", "--fsync", "always"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); _ = pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "127.0.0.1:") || strings.Contains(line, ":8090") || !strings.Contains(line, "from-config") {
		t.Fatalf("line %q: config file not applied", line)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-config")); err != nil {
		t.Fatalf("data dir from the config file not used: %v", err)
	}

	// Flags override the file; bad values are reported together.
	root = newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"serve", "--fsync", "sometimes", "--tcp-addr", "nope", "--tls-cert", "x.pem"})
	err = root.Execute()
	for _, want := range []string{"--fsync", "--tcp-addr", "--tls-cert"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}
}
