package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/transport"
)

// Mount the API under /events/ of an application's own mux. In an
// application, Health is tr.Health (or compose's checker) and the Metrics
// were given to transport.New with transport.WithHooks.
func ExampleNew() {
	metrics, err := httpapi.NewMetrics()
	if err != nil {
		panic(err)
	}
	metrics.Published(transport.TopicDomain, 3, time.Millisecond, nil)
	api := httpapi.New(httpapi.Config{
		Health: func(context.Context) transport.HealthReport {
			return transport.HealthReport{Status: transport.Degraded, Checks: []transport.Check{{Name: "dlq", Status: transport.Degraded, Detail: "2 new entries within 5m0s"}}}
		},
		Metrics: metrics,
	})
	mux := http.NewServeMux()
	mux.Handle("/events/", http.StripPrefix("/events", api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/events/health")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	var h struct{ Status string }
	_ = json.Unmarshal(b, &h)
	fmt.Println(h.Status)
	// Output:
	// 200
	// degraded
}
