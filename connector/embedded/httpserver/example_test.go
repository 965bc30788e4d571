package httpserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
)

// Iggy's HTTP API over an embedded broker in a temporary directory, served
// on a loopback port: a request without a token is refused, the default
// root user logs in, creates a stream and a topic with its JWT, and reads
// the topic back.
func Example() {
	dir, err := os.MkdirTemp("", "httpserver-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	b, err := broker.Open(broker.Config{DataDir: dir})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	h, err := httpserver.New(b, httpserver.Config{StateDir: dir})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	call := func(method, path, token string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}

	status, _ := call("GET", "/streams", "", nil)
	fmt.Println("without a token:", status)

	_, body := call("POST", "/users/login", "", map[string]string{"username": "iggy", "password": "iggy"})
	var id httpserver.IdentityJSON
	if err := json.Unmarshal(body, &id); err != nil {
		panic(err)
	}
	token := id.AccessToken.Token

	status, _ = call("POST", "/streams", token, map[string]any{"name": "shop"})
	fmt.Println("create stream:", status)
	status, _ = call("POST", "/streams/shop/topics", token, map[string]any{"name": "orders", "partitions_count": 3,
		"compression_algorithm": "none", "message_expiry": 0, "max_topic_size": 0})
	fmt.Println("create topic:", status)

	_, body = call("GET", "/streams/shop/topics/orders", token, nil)
	var topic httpserver.TopicDetailsJSON
	if err := json.Unmarshal(body, &topic); err != nil {
		panic(err)
	}
	fmt.Printf("topic %s: %d partitions\n", topic.Name, len(topic.Partitions))
	// Output:
	// without a token: 401
	// create stream: 200
	// create topic: 200
	// topic orders: 3 partitions
}
