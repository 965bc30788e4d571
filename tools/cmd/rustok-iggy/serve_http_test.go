package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/transport"
)

var (
	tcpLine  = regexp.MustCompile(`^rustok-iggy: Iggy server listening on tcp://(\S+) `)
	httpLine = regexp.MustCompile(`^rustok-iggy: HTTP API listening on http://(\S+) `)
)

// httpClient keeps no idle connections, so no client goroutine outlives a
// test (goleak).
var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// fetch GETs url and returns the status, content type and body.
func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// inProcess is the root command running in this process (serveInProcess):
// line reads its next printed line, stop cancels it and returns the rest
// of its output and Execute's error.
type inProcess struct {
	out    *bufio.Reader
	cancel context.CancelFunc
	done   chan error
}

// serveInProcess runs the root command with args in this process until
// stop or the end of the test.
func serveInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	root := newRootCmd()
	pr, pw := io.Pipe()
	root.SetOut(pw)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{out: bufio.NewReader(pr), cancel: cancel, done: make(chan error, 1)}
	go func() { err := root.ExecuteContext(ctx); _ = pw.CloseWithError(io.EOF); p.done <- err }()
	t.Cleanup(func() {
		cancel()
		_, _ = io.Copy(io.Discard, p.out)
	})
	return p
}

func (p *inProcess) line(t *testing.T) string {
	t.Helper()
	l, err := p.out.ReadString('\n')
	if err != nil {
		p.cancel()
		t.Fatalf("after %q: %v (serve: %v)", l, err, <-p.done)
	}
	return l
}

// stop cancels the command and returns its error and the rest of its output.
func (p *inProcess) stop() (string, error) {
	p.cancel()
	rest, _ := io.ReadAll(p.out)
	return string(rest), <-p.done
}

func match(t *testing.T, re *regexp.Regexp, line string) string {
	t.Helper()
	m := re.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("line %q does not match %s", line, re)
	}
	return m[1]
}

// The HTTP endpoint beside the Iggy listener: /ping, /health (JSON over
// the broker's own checks) and /metrics (runtime and broker figures that
// follow what a TCP client did), then a clean exit on cancel that closes
// both listeners.
func TestServeHTTPEndpoints(t *testing.T) {
	t.Setenv(envRootUsername, "")
	t.Setenv(envRootPassword, "")
	dataDir := filepath.Join(t.TempDir(), "data")
	p := serveInProcess(t, "serve", "--data-dir", dataDir, "--tcp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--fsync", "never")
	tcpAddr := match(t, tcpLine, p.line(t))
	httpAddr := match(t, httpLine, p.line(t))
	base := "http://" + httpAddr

	// A TCP client makes a stream, a topic of 3 partitions and 5 messages,
	// and stays connected.
	c := dial(t, tcpAddr)
	if st, _ := call(t, c, iggyproto.LoginUser{Username: "iggy", Password: "iggy"}); st != 0 {
		t.Fatalf("login: %d", st)
	}
	if st, _ := call(t, c, iggyproto.CreateStream{Name: "orders"}); st != 0 {
		t.Fatalf("create stream: %d", st)
	}
	if st, _ := call(t, c, iggyproto.CreateTopic{Stream: iggyproto.NamedID("orders"), PartitionsCount: 3,
		Compression: iggyproto.CompressionNone, ReplicationFactor: 1, Name: "placed"}); st != 0 {
		t.Fatalf("create topic: %d", st)
	}
	var batch []byte
	for i := range 5 {
		batch = iggyproto.AppendMessage(batch, [16]byte{}, 1, []byte("order-"+strconv.Itoa(i)), nil)
	}
	if st, _ := call(t, c, iggyproto.SendMessages{Stream: iggyproto.NamedID("orders"), Topic: iggyproto.NamedID("placed"),
		Partitioning: iggyproto.BalancedPartitioning(), Count: 5, Messages: batch}); st != 0 {
		t.Fatalf("send: %d", st)
	}

	if code, _, body := fetch(t, base+"/ping"); code != 200 || body != "pong" {
		t.Fatalf("/ping = %d %q", code, body)
	}
	// Iggy's HTTP API on the same listener sees what TCP sent.
	resp, err := httpClient.Post(base+"/users/login", "application/json", strings.NewReader(`{"username":"iggy","password":"iggy"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ident struct {
		AccessToken struct{ Token string } `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ident)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || ident.AccessToken.Token == "" {
		t.Fatalf("Iggy HTTP login: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", base+"/streams/orders", nil)
	req.Header.Set("Authorization", "Bearer "+ident.AccessToken.Token)
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(sb), `"messages_count":5`) {
		t.Fatalf("GET /streams/orders over Iggy HTTP = %d %s", resp.StatusCode, sb)
	}
	if code, _, _ := fetch(t, base+"/streams"); code != 401 {
		t.Fatalf("GET /streams without a token = %d, want 401", code)
	}
	// POST /snapshot reports serve's TCP listener, as GetSnapshotFile does.
	req, _ = http.NewRequest("POST", base+"/snapshot", strings.NewReader(`{"compression":"Stored","snapshot_types":["ServerConfig"]}`))
	req.Header.Set("Authorization", "Bearer "+ident.AccessToken.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("POST /snapshot = %d %s", resp.StatusCode, zb)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "server_config.txt" {
		t.Fatalf("snapshot zip: %v %v", err, zr)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	cfgText, _ := io.ReadAll(rc)
	_ = rc.Close()
	if !strings.Contains(string(cfgText), `bound_address = "`+tcpAddr+`"`) || !strings.Contains(string(cfgText), "[http]") {
		t.Fatalf("server_config.txt:\n%s", cfgText)
	}

	code, ct, body := fetch(t, base+"/health")
	if code != 200 || ct != "application/json" {
		t.Fatalf("/health = %d %s: %s", code, ct, body)
	}
	var h httpapi.HealthJSON
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/health body %q: %v", body, err)
	}
	checks := map[string]httpapi.CheckJSON{}
	for _, c := range h.Checks {
		checks[c.Name] = c
	}
	if h.Status == "unhealthy" || len(h.Checks) != 3 || h.At.IsZero() {
		t.Fatalf("/health = %s", body)
	}
	if b := checks[checkBroker]; b.Status != "healthy" || !strings.Contains(b.Detail, "in-process ping") ||
		!strings.Contains(b.Detail, "streams=1 topics=1 partitions=3 consumer_groups=0 messages=5") || !strings.Contains(b.Detail, "clients=1") {
		t.Errorf("broker check %+v", b)
	}
	if l := checks[checkListener]; l.Status != "healthy" || !strings.Contains(l.Detail, "tcp://"+tcpAddr) {
		t.Errorf("listener check %+v", l)
	}
	if d := checks[checkDisk]; d.Status == "unhealthy" || !strings.Contains(d.Detail, dataDir) {
		t.Errorf("disk check %+v", d)
	}

	code, ct, body = fetch(t, base+"/metrics")
	if code != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics = %d %s", code, ct)
	}
	for _, want := range []string{
		"rustok_iggy_broker_up 1\n",
		"rustok_iggy_broker_streams 1\n",
		"rustok_iggy_broker_topics 1\n",
		"rustok_iggy_broker_partitions 3\n",
		"rustok_iggy_broker_consumer_groups 0\n",
		"rustok_iggy_broker_messages 5\n",
		"rustok_iggy_broker_clients 1\n",
		"rustok_iggy_broker_messages_size_bytes ",
		"rustok_iggy_broker_written_bytes_total ",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "rustok_iggy_published_events_total") {
		t.Error("/metrics serves transport counters a standalone broker never fills")
	}
	for _, name := range []string{"rustok_iggy_broker_messages_size_bytes", "rustok_iggy_broker_written_bytes_total"} {
		if v := metricValue(t, body, name); v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}

	// Cancel (what SIGINT/SIGTERM do): a clean exit, both listeners closed.
	rest, err := p.stop()
	if err != nil || rest != "" {
		t.Fatalf("exit: %v, output %q", err, rest)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("TCP connection still open: %d %v", n, err)
	}
	if conn, err := net.DialTimeout("tcp", httpAddr, time.Second); err == nil {
		_ = conn.Close()
		t.Fatal("HTTP listener still accepting after shutdown")
	}
}

// metricValue returns the value of an unlabelled sample in a Prometheus
// text body.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for l := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s", name)
	return 0
}

// SIGTERM to the real program: both lines printed, the HTTP endpoint
// answers, and the process exits 0 with the HTTP port closed.
func TestServeHTTPSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--tcp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "RUSTOK_IGGY_TEST_RUN_MAIN=1")
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
	r := bufio.NewReader(stdout)
	var lines [2]string
	for i := range lines {
		if lines[i], err = r.ReadString('\n'); err != nil {
			t.Fatalf("line %d: %v; stderr:\n%s", i+1, err, stderr.String())
		}
	}
	match(t, tcpLine, lines[0])
	httpAddr := match(t, httpLine, lines[1])
	if code, _, body := fetch(t, "http://"+httpAddr+"/health"); code != 200 || !strings.Contains(body, `"status":`) {
		t.Fatalf("/health = %d %s", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("more output %q, %v", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no clean stop logged:\n%s", stderr.String())
	}
	if conn, err := net.DialTimeout("tcp", httpAddr, time.Second); err == nil {
		_ = conn.Close()
		t.Fatal("HTTP port still open after exit")
	}
}

// --http-addr defaults to the config's bind_address:http_port (0: off);
// the flag overrides it, "" turns it off; bad values are flag errors.
func TestServeHTTPAddrFlagAndConfig(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name, embedded string) string {
		p := filepath.Join(dir, name)
		yaml := "events:\n  iggy:\n    embedded:\n      data_dir: " + filepath.Join(dir, "data") + "\n" + embedded
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	off := writeConfig("off.yaml", "      tcp_port: 0\n      http_port: 0\n")
	on := writeConfig("on.yaml", "      tcp_port: 0\n      http_port: 4321\n      bind_address: 127.0.0.2\n")

	// http_port 0, or --http-addr "" over a config that sets one: no HTTP.
	for _, args := range [][]string{
		{"--config", off, "serve"},
		{"--config", on, "serve", "--tcp-addr", "127.0.0.1:0", "--http-addr", ""},
	} {
		p := serveInProcess(t, args...)
		match(t, tcpLine, p.line(t))
		if rest, err := p.stop(); err != nil || rest != "" {
			t.Fatalf("%v: exit %v, more output %q", args, err, rest)
		}
	}

	// The config's address is used unless the flag is given: checked
	// through the clash with --tcp-addr, which is reported before binding.
	run := func(args ...string) error {
		root := newRootCmd()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(args)
		return root.Execute()
	}
	err := run("--config", on, "serve", "--tcp-addr", "127.0.0.2:4321")
	if err == nil || !strings.Contains(err.Error(), "--http-addr: 127.0.0.2:4321 is also the --tcp-addr") {
		t.Fatalf("config http address not derived: %v", err)
	}
	if err := run("serve", "--tcp-addr", "127.0.0.1:7000", "--http-addr", "127.0.0.1:7000"); err == nil || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("same address accepted: %v", err)
	}
	err = run("serve", "--http-addr", "nope", "--fsync", "sometimes")
	for _, want := range []string{"--http-addr", "--fsync"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}

	// A taken HTTP address fails the start, naming the flag, and leaves
	// the data dir unlocked for the next start.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run("serve", "--data-dir", filepath.Join(dir, "data"), "--tcp-addr", "127.0.0.1:0", "--http-addr", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "--http-addr") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("taken address: %v", err)
	}
	p := serveInProcess(t, "serve", "--data-dir", filepath.Join(dir, "data"), "--tcp-addr", "127.0.0.1:0")
	match(t, tcpLine, p.line(t))
	if _, err := p.stop(); err != nil {
		t.Fatal(err)
	}
}

// The probe over a broker that stops answering: /health says unhealthy
// (503) with the reasons, /metrics only up 0; a stopped listener is
// reported too.
func TestServeProbeUnhealthy(t *testing.T) {
	b, err := broker.Open(broker.Config{DataDir: t.TempDir(), Fsync: logstore.FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := newBrokerProbe(b, "/data", "tcp://127.0.0.1:1")
	h := httptest.NewServer(httpapi.New(httpapi.Config{Health: p.Health, Gatherer: serveRegistry(p)}))
	defer h.Close()
	defer httpClient.CloseIdleConnections()

	if rep := p.Health(context.Background()); rep.Status == transport.Unhealthy {
		t.Fatalf("open broker: %s", rep)
	}
	p.listenerStopped(errors.New("accept: too many open files"))
	p.close()
	code, _, body := fetch(t, h.URL+"/health")
	var rep httpapi.HealthJSON
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 503 || rep.Status != "unhealthy" || len(rep.Checks) != 3 {
		t.Fatalf("/health = %d %s (%v)", code, body, err)
	}
	for i, want := range []string{"in-process ping: ", "stopped: accept: too many open files", "not measured"} {
		if c := rep.Checks[i]; c.Status != "unhealthy" || !strings.Contains(c.Detail, want) {
			t.Errorf("check %+v lacks %q", c, want)
		}
	}
	_, _, body = fetch(t, h.URL+"/metrics")
	if !strings.Contains(body, "rustok_iggy_broker_up 0\n") || strings.Contains(body, "rustok_iggy_broker_streams") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics of a dead broker:\n%s", body)
	}

	// A check out of time before the broker answered is unhealthy, with
	// the cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("too slow"))
	if rep := p.Health(ctx); rep.Status != transport.Unhealthy || rep.Checks[0].Detail != "no answer to an in-process ping: too slow" {
		t.Errorf("cancelled: %s", rep)
	}
}

func TestServeDiskCheck(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		free, total uint64
		status      transport.Status
		detail      string
	}{
		{50 * gib, 100 * gib, transport.Healthy, "50.0 GiB free of 100.0 GiB (50.0%) on the file system of data dir /d"},
		{3 * gib, 100 * gib, transport.Degraded, "3.0 GiB free of 100.0 GiB (3.0%) on the file system of data dir /d (low: below 1.0 GiB or 5%)"},
		{512 << 20, 4 * gib, transport.Degraded, "512.0 MiB free of 4.0 GiB (12.5%)"},
		{0, 0, transport.Healthy, "not measured on"},
	} {
		c := diskCheck(tc.free, tc.total, "/d")
		if c.Name != checkDisk || c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
			t.Errorf("diskCheck(%d, %d) = %+v", tc.free, tc.total, c)
		}
	}
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 40: "5.0 TiB", 1 << 62: "4.0 EiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
