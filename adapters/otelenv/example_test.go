package otelenv_test

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/rustok/rustok-iggy/adapters/otelenv"
)

// Providers from the OTEL_* environment: traces to the console exporter
// (it prints nothing here, as no span ends), metrics off, the W3C trace
// context propagator; the transport takes them as options.
func Example() {
	env := map[string]string{
		"OTEL_TRACES_EXPORTER":  "console",
		"OTEL_METRICS_EXPORTER": "none",
		"OTEL_PROPAGATORS":      "tracecontext",
		"OTEL_SERVICE_NAME":     "billing",
	}
	for k, v := range env {
		old, had := os.LookupEnv(k)
		_ = os.Setenv(k, v)
		defer func() {
			if had {
				_ = os.Setenv(k, old)
			} else {
				_ = os.Unsetenv(k)
			}
		}()
	}

	ctx := context.Background()
	p, err := otelenv.New(ctx, "rustok-iggy")
	if err != nil {
		panic(err)
	}
	fields := p.Propagator.Fields()
	slices.Sort(fields)
	fmt.Println("traces:", p.Traces, "metrics:", p.Metrics)
	fmt.Println("propagated headers:", fields)
	fmt.Println("transport options:", len(p.TransportOptions()))
	fmt.Println("shutdown:", p.Shutdown(ctx))
	// Output:
	// traces: true metrics: false
	// propagated headers: [traceparent tracestate]
	// transport options: 3
	// shutdown: <nil>
}
