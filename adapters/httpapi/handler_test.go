package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/transport"
)

func report(s transport.Status) httpapi.HealthFunc {
	return func(ctx context.Context) transport.HealthReport {
		return transport.HealthReport{Status: s, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Checks: []transport.Check{
			{Name: "broker", Status: s, Detail: "round trip 1ms"},
			{Name: "dlq", Status: transport.Healthy, Detail: "0 new entries within 5m0s"},
		}}
	}
}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestHealthStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		status transport.Status
		code   int
	}{{transport.Healthy, 200}, {transport.Degraded, 200}, {transport.Unhealthy, 503}} {
		h := httpapi.New(httpapi.Config{Health: report(tc.status)})
		resp := get(t, h, http.MethodGet, "/health")
		if resp.StatusCode != tc.code {
			t.Errorf("%s: status %d, want %d", tc.status, resp.StatusCode, tc.code)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		var body httpapi.HealthJSON
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Status != tc.status.String() || len(body.Checks) != 2 || body.Checks[0].Name != "broker" || body.Checks[0].Detail != "round trip 1ms" ||
			!body.At.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("body = %+v", body)
		}
	}
}

func TestHealthTimeoutReachesTheCheck(t *testing.T) {
	h := httpapi.New(httpapi.Config{HealthTimeout: 5 * time.Millisecond, Health: func(ctx context.Context) transport.HealthReport {
		<-ctx.Done()
		return transport.HealthReport{Status: transport.Unhealthy, Checks: []transport.Check{{Name: "broker", Status: transport.Unhealthy, Detail: context.Cause(ctx).Error()}}}
	}})
	resp := get(t, h, http.MethodGet, "/health")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(b), "deadline exceeded") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func TestPingMethodsAndUnknownPaths(t *testing.T) {
	h := httpapi.New(httpapi.Config{})
	resp := get(t, h, http.MethodGet, "/ping")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "pong" {
		t.Errorf("/ping = %d %q", resp.StatusCode, b)
	}
	if resp := get(t, h, http.MethodPost, "/ping"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ping = %d", resp.StatusCode)
	}
	if resp := get(t, h, http.MethodHead, "/ping"); resp.StatusCode != 200 {
		t.Errorf("HEAD /ping = %d", resp.StatusCode)
	}
	for _, p := range []string{"/health", "/metrics", "/nope"} {
		if resp := get(t, h, http.MethodGet, p); resp.StatusCode != 404 {
			t.Errorf("%s without a source = %d", p, resp.StatusCode)
		}
	}
}

func TestMetricsFromHooks(t *testing.T) {
	m := newMetrics(t)
	var hooks transport.Hooks = m
	hooks.Published(transport.TopicDomain, 10, 3*time.Millisecond, nil)
	hooks.Published(transport.TopicDomain, 2, time.Millisecond, errors.New("down"))
	hooks.Published(transport.TopicDLQ, 1, time.Millisecond, nil)
	for range 7 {
		hooks.Handled("billing", transport.TopicDomain, 3, 2*time.Millisecond, nil)
	}
	hooks.Handled("billing", transport.TopicDomain, 3, time.Millisecond, errors.New("boom"))
	hooks.Retried("billing", transport.TopicDomain, 3, 2)
	hooks.DeadLettered("billing", transport.TopicDomain, 3, transport.DLQReasonHandler)
	hooks.Replayed(transport.TopicDomain, 4)
	hooks.Lag("billing", transport.TopicDomain, 3, 42)
	hooks.Lag("billing", transport.TopicDomain, 3, 40)

	resp := get(t, httpapi.New(httpapi.Config{Metrics: m}), http.MethodGet, "/metrics")
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	scope := `otel_scope_name="` + transport.InstrumentationName + `"`
	sys := `messaging_system="iggy"`
	for _, want := range []struct {
		name, value string
		labels      []string
	}{
		{httpapi.PromSentMessages, "10", []string{`messaging_destination_name="domain"`, sys, scope}},
		{httpapi.PromSentMessages, "2", []string{`messaging_destination_name="domain"`, `error_type="error"`}},
		{httpapi.PromSentMessages, "1", []string{`messaging_destination_name="dlq"`}},
		{httpapi.PromOperationDuration + "_count", "1", []string{`messaging_destination_name="domain"`, sys}},
		{httpapi.PromOperationDuration + "_count", "1", []string{`messaging_destination_name="domain"`, `error_type="error"`}},
		{httpapi.PromConsumedMessages, "8", []string{`messaging_consumer_group_name="billing"`, `messaging_destination_name="domain"`}},
		{httpapi.PromProcessDuration + "_count", "7", []string{`messaging_consumer_group_name="billing"`}},
		{httpapi.PromProcessDuration + "_count", "1", []string{`messaging_consumer_group_name="billing"`, `error_type="error"`}},
		{httpapi.PromRetries, "1", []string{`messaging_consumer_group_name="billing"`}},
		{httpapi.PromDLQEntries, "1", []string{`messaging_consumer_group_name="billing"`, `rustok_dlq_reason="handler"`}},
		{httpapi.PromReplayed, "4", []string{`messaging_destination_name="domain"`}},
		{httpapi.PromConsumerLag, "40", []string{`messaging_consumer_group_name="billing"`, `messaging_destination_partition_id="3"`}},
		{"go_goroutines", "", nil},
	} {
		if !hasSample(body, want.name, want.value, want.labels...) {
			t.Errorf("/metrics lacks %s%v %s", want.name, want.labels, want.value)
		}
	}
	if n, err := testutil.GatherAndCount(m.Registry(), httpapi.PromConsumerLag); err != nil || n != 1 {
		t.Errorf("lag series = %d, %v", n, err)
	}
}

// hasSample reports whether body has a sample line of name carrying every
// label and, unless value is "", that value.
func hasSample(body, name, value string, labels ...string) bool {
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := value == "" || strings.HasSuffix(line, " "+value)
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			return true
		}
	}
	return false
}

func newMetrics(t *testing.T) *httpapi.Metrics {
	t.Helper()
	m, err := httpapi.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// The hooks run on hot paths: after the first call for a label set they
// must not allocate.
func TestHooksDoNotAllocate(t *testing.T) {
	m := newMetrics(t)
	m.Handled("g", "domain", 1, time.Millisecond, nil)
	m.Lag("g", "domain", 1, 5)
	m.DeadLettered("g", "domain", 1, "handler")
	allocs := testing.AllocsPerRun(200, func() {
		m.Published("domain", 1, time.Millisecond, nil)
		m.Handled("g", "domain", 1, time.Millisecond, nil)
		m.Retried("g", "domain", 1, 2)
		m.Lag("g", "domain", 1, 5)
		m.DeadLettered("g", "domain", 1, "handler")
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per round of hooks", allocs)
	}
}

// A Gatherer is served alone without Metrics, and merged with them when
// both are given.
func TestMetricsFromGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_widgets", Help: "Widgets."})
	g.Set(7)
	reg.MustRegister(g)

	resp := get(t, httpapi.New(httpapi.Config{Gatherer: reg}), http.MethodGet, "/metrics")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "app_widgets 7") || strings.Contains(string(b), "go_goroutines") {
		t.Errorf("Gatherer alone: %d\n%s", resp.StatusCode, b)
	}

	m := newMetrics(t)
	m.Replayed(transport.TopicDomain, 2)
	resp = get(t, httpapi.New(httpapi.Config{Metrics: m, Gatherer: reg}), http.MethodGet, "/metrics")
	b, _ = io.ReadAll(resp.Body)
	for _, want := range []string{"app_widgets 7", "go_goroutines"} {
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("merged: %d, lacks %s", resp.StatusCode, want)
		}
	}
	if !hasSample(string(b), httpapi.PromReplayed, "2", `messaging_destination_name="domain"`) {
		t.Errorf("merged: lacks %s 2\n%s", httpapi.PromReplayed, b)
	}
}
