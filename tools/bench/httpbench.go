package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
)

// --- over HTTP: Iggy's HTTP API (package httpserver), JSON and base64 ---

// errNoHTTPGroups marks the scenario Iggy's HTTP API cannot serve: it has
// no consumer-group join (the Rust SDK's HTTP client answers
// FeatureUnavailable).
var errNoHTTPGroups = errors.New("consumer groups: no join over Iggy's HTTP API")

// httpAPI serves b's HTTP API on a loopback port until close.
type httpAPI struct {
	srv  *http.Server
	base string
	done chan struct{}
}

func startHTTPAPI(b *embedded.Broker) (*httpAPI, error) {
	h, err := b.HTTPHandler(httpserver.Config{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &httpAPI{srv: &http.Server{Handler: h}, base: "http://" + ln.Addr().String(), done: make(chan struct{})}
	go func() { defer close(a.done); _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *httpAPI) close() {
	_ = a.srv.Close()
	<-a.done
}

// httpConnect logs in over HTTP; each session has its own keep-alive
// connection and bearer token.
func httpConnect(base, user, pass string) func(context.Context) (iggySession, error) {
	return func(ctx context.Context) (iggySession, error) {
		s := &httpSession{base: base, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
		var id httpserver.IdentityJSON
		if err := s.call(ctx, "POST", "/users/login", map[string]string{"username": user, "password": pass}, &id, 200); err != nil {
			return nil, fmt.Errorf("login to %s as %s: %w", base, user, err)
		}
		if id.AccessToken == nil {
			return nil, errors.New("login answered no token")
		}
		s.token = id.AccessToken.Token
		return s, nil
	}
}

type httpSession struct {
	base, token string
	c           *http.Client
}

// call sends a JSON body (nil: none) and decodes the answer into out
// (nil: discard), failing unless the status is want.
func (s *httpSession) call(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}

func (s *httpSession) createTopic(ctx context.Context, stream, topic string, partitions uint32) error {
	if err := s.call(ctx, "GET", "/streams/"+url.PathEscape(stream), nil, nil, 200); err != nil {
		if err := s.call(ctx, "POST", "/streams", map[string]string{"name": stream}, nil, 200); err != nil {
			return fmt.Errorf("create stream %s: %w", stream, err)
		}
	}
	return s.call(ctx, "POST", "/streams/"+url.PathEscape(stream)+"/topics", map[string]any{"name": topic,
		"partitions_count": partitions, "compression_algorithm": "none", "message_expiry": 0, "max_topic_size": 0}, nil, 200)
}

func (s *httpSession) createGroup(ctx context.Context, stream, topic, group string) error {
	return s.call(ctx, "POST", "/streams/"+url.PathEscape(stream)+"/topics/"+url.PathEscape(topic)+"/consumer-groups",
		map[string]string{"name": group}, nil, 201)
}

// prepare keeps the payloads: the JSON body is built at each send (the
// payloads may change between sends), as an HTTP client does.
func (*httpSession) prepare(payloads [][]byte) any { return payloads }

func (s *httpSession) send(ctx context.Context, stream, topic string, partition int, batch any) error {
	payloads := batch.([][]byte)
	body := make([]byte, 0, 64+len(payloads)*(len(payloads[0])*4/3+20))
	if partition >= 0 {
		var p [4]byte
		p[0], p[1], p[2], p[3] = byte(partition), byte(partition>>8), byte(partition>>16), byte(partition>>24)
		body = append(body, `{"partitioning":{"kind":"partition_id","value":"`...)
		body = base64.StdEncoding.AppendEncode(body, p[:])
		body = append(body, `"},"messages":[`...)
	} else {
		body = append(body, `{"partitioning":{"kind":"balanced","value":""},"messages":[`...)
	}
	for i, p := range payloads {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"payload":"`...)
		body = base64.StdEncoding.AppendEncode(body, p)
		body = append(body, `"}`...)
	}
	body = append(body, "]}"...)
	return s.call(ctx, "POST", "/streams/"+url.PathEscape(stream)+"/topics/"+url.PathEscape(topic)+"/messages", body, nil, 201)
}

func (s *httpSession) poll(ctx context.Context, stream, topic string, partition uint32, offset uint64, count uint32, visit func([]byte)) (int, error) {
	q := "?consumer_id=bench&partition_id=" + strconv.FormatUint(uint64(partition), 10) + "&kind=offset&value=" +
		strconv.FormatUint(offset, 10) + "&count=" + strconv.FormatUint(uint64(count), 10)
	var res struct {
		Messages []struct {
			Payload []byte `json:"payload"` // base64 in JSON
		} `json:"messages"`
	}
	if err := s.call(ctx, "GET", "/streams/"+url.PathEscape(stream)+"/topics/"+url.PathEscape(topic)+"/messages"+q, nil, &res, 200); err != nil {
		return 0, err
	}
	for i := range res.Messages {
		visit(res.Messages[i].Payload)
	}
	return len(res.Messages), nil
}

func (s *httpSession) join(context.Context, string, string, string) (iggyMember, error) {
	return nil, errNoHTTPGroups
}

func (s *httpSession) close() error {
	s.c.CloseIdleConnections()
	return nil
}
