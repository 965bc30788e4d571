package iggyfx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"google.golang.org/protobuf/proto"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/iggyfx"
	"github.com/rustok/rustok-iggy/core"
)

// TestModuleExportsTraces: with OTEL_TRACES_EXPORTER=otlp and an OTLP/HTTP
// endpoint in the environment, a publish through the module's transport
// reaches the endpoint as a PRODUCER span once OnStop flushed the exporter.
func TestModuleExportsTraces(t *testing.T) {
	var mu sync.Mutex
	var names []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("unexpected export %s (%d bytes)", r.URL.Path, len(body))
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
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
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	var (
		app *compose.App
		et  core.EventTransport
	)
	fxApp := fxtest.New(t, iggyfx.Module(iggyfx.WithConfigFile(writeConfig(t, ""))), fx.Populate(&app, &et))
	fxApp.RequireStart()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := iggyfx.WaitReady(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := et.Publish(ctx, core.NewEnvelope(uuid.New(), "node.created", core.Event{Type: "NodeCreated"})); err != nil {
		t.Fatal(err)
	}
	fxApp.RequireStop()
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 1 || names[0] != "send domain" {
		t.Fatalf("exported spans %v, want [send domain]", names)
	}
}
