package httpserver

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
)

func TestMain(m *testing.M) {
	// The Iggy Go SDK logs through the standard library logger.
	if os.Getenv("IGGY_TEST_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	goleak.VerifyTestMain(m)
}

// clock is an injectable clock for token expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a broker on a temp dir with the HTTP handler in front of it.
type env struct {
	t     testing.TB
	dir   string
	b     *broker.Broker
	h     *Handler
	srv   *httptest.Server
	clock *clock
	cfg   Config
	// segmentSize is the broker's segment size; 0 is its default.
	segmentSize int64
}

func newEnv(t testing.TB) *env { return newEnvCfg(t, Config{}) }

func newEnvCfg(t testing.TB, cfg Config) *env { return newEnvSeg(t, cfg, 0) }

func newEnvSeg(t testing.TB, cfg Config, segmentSize int64) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: time.Unix(1_800_000_000, 0)}, cfg: cfg, segmentSize: segmentSize}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	t := e.t
	t.Helper()
	b, err := broker.Open(broker.Config{DataDir: e.dir, LoginThrottleBase: -1, SegmentSize: e.segmentSize})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	if cfg.StateDir == "" {
		cfg.StateDir = e.dir
	}
	cfg.Now = e.clock.now
	h, err := New(b, cfg)
	if err != nil {
		_ = b.Close()
		t.Fatal(err)
	}
	e.b, e.h = b, h
	e.srv = httptest.NewServer(h)
}

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	if err := e.b.Close(); err != nil {
		e.t.Errorf("close broker: %v", err)
	}
	e.srv = nil
}

func (e *env) restart() {
	e.stop()
	e.start()
}

// resp is an answer: status, body and headers.
type resp struct {
	status int
	body   []byte
	header http.Header
}

// do sends method path with a JSON body (a string or a value to marshal;
// nil for none) and the bearer token (none when "").
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// expect fails unless r has status want; it returns r for chaining.
func (r resp) expect(t testing.TB, want int) resp {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	return r
}

// decode unmarshals the body into a new T.
func decode[T any](t testing.TB, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// iggyError asserts r is Iggy's error body with status, id and code.
func (r resp) iggyError(t testing.TB, status int, id uint32, code string) ErrorBody {
	t.Helper()
	r.expect(t, status)
	eb := decode[ErrorBody](t, r)
	if eb.ID != id || eb.Code != code || eb.Reason == "" {
		t.Fatalf("error body %s, want id %d code %s and a reason", r.body, id, code)
	}
	return eb
}

// login logs in and returns the access token.
func (e *env) login(user, pass string) string {
	e.t.Helper()
	r := e.do("POST", "/users/login", "", map[string]string{"username": user, "password": pass}).expect(e.t, 200)
	id := decode[IdentityJSON](e.t, r)
	if id.AccessToken == nil || id.AccessToken.Token == "" {
		e.t.Fatalf("login answered no token: %s", r.body)
	}
	return id.AccessToken.Token
}

func (e *env) root() string { return e.login("iggy", "iggy") }

// mkTopic creates stream and topic (n partitions) over HTTP.
func (e *env) mkTopic(tok, stream, topic string, n uint32) {
	e.t.Helper()
	e.do("POST", "/streams", tok, map[string]any{"name": stream}).expect(e.t, 200)
	e.do("POST", "/streams/"+stream+"/topics", tok, map[string]any{"name": topic, "partitions_count": n,
		"compression_algorithm": "none", "message_expiry": 0, "max_topic_size": 0}).expect(e.t, 200)
}

// doCT sends a raw body with the given content type ("" for none).
func (e *env) doCT(method, path, token, ctype, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// sendN sends n messages ("m-0", ...) to a partition over HTTP.
func (e *env) sendN(tok, stream, topic string, partition uint32, n int) {
	e.t.Helper()
	var ms []map[string]any
	for i := range n {
		ms = append(ms, map[string]any{"payload": b64("m-" + strconv.Itoa(i))})
	}
	p := make([]byte, 4)
	binary.LittleEndian.PutUint32(p, partition)
	e.do("POST", "/streams/"+stream+"/topics/"+topic+"/messages", tok, map[string]any{
		"partitioning": map[string]string{"kind": "partition_id", "value": base64.StdEncoding.EncodeToString(p)},
		"messages":     ms}).expect(e.t, 201)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (e *env) doOrigin(method, path, origin string) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Origin", origin)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
