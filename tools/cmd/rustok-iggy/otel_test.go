package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestDemoExportsTraces: with only the standard environment
// (OTEL_TRACES_EXPORTER=otlp and an OTLP/HTTP endpoint), `demo` sends its
// traces to that endpoint as protobuf export requests, flushed before the
// command returns: the PRODUCER and CONSUMER spans of the transport, of
// service OTEL_SERVICE_NAME; the endpoint also receives the metrics.
func TestDemoExportsTraces(t *testing.T) {
	var mu sync.Mutex
	spans := map[string]int{}
	services := map[string]bool{}
	metrics := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/metrics" && err == nil {
			var req colmetrics.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				t.Errorf("metrics export body: %v", err)
			}
			mu.Lock()
			for _, rm := range req.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						metrics[m.Name] = true
					}
				}
			}
			mu.Unlock()
			resp, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(resp)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
			t.Errorf("export request %s %s %q (%v)", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("export request body: %v", err)
			http.Error(w, "bad protobuf", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					services[a.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans[s.Name]++
				}
			}
		}
		mu.Unlock()
		resp, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "demo-under-test")
	cfg := writeTestConfig(t, "")
	out, errOut, err := runCLI(t, "", "--config", cfg, "demo", "--events", "50", "--tenants", "2", "--json")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if spans["process domain"] < 50 || spans["send"]+spans["send domain"] == 0 || !services["demo-under-test"] {
		t.Fatalf("exported spans %v, services %v", spans, services)
	}
	// The endpoint alone turns metrics on too (OTEL_METRICS_EXPORTER unset
	// means otlp); the last collection is flushed at shutdown.
	if !metrics["messaging.client.sent.messages"] || !metrics["messaging.process.duration"] {
		t.Fatalf("exported metrics %v", metrics)
	}
}
