// Package otelenv builds OpenTelemetry providers from the standard OTEL_*
// environment, for the command line program and the fx module: traces and
// metrics exporters through go.opentelemetry.io/contrib/exporters/autoexport
// (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, ...), the sampler (OTEL_TRACES_SAMPLER, read
// by the SDK), the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
// and the propagators (OTEL_PROPAGATORS, default tracecontext,baggage).
//
// It never sets the otel globals: hand the providers to the transport with
// Providers.TransportOptions.
package otelenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/rustok/rustok-iggy/transport"
)

// Providers are the tracer and meter providers and the propagator built
// from the environment. A signal that is off has a noop provider.
type Providers struct {
	// TracerProvider is an SDK provider with a batch span processor over
	// the exporter OTEL_TRACES_EXPORTER names, or a noop provider.
	TracerProvider trace.TracerProvider
	// MeterProvider is an SDK provider with the reader
	// OTEL_METRICS_EXPORTER names, or a noop provider.
	MeterProvider metric.MeterProvider
	// Propagator is what OTEL_PROPAGATORS names (default W3C trace
	// context and baggage).
	Propagator propagation.TextMapPropagator
	// Traces and Metrics say which signals are exported.
	Traces, Metrics bool

	shutdown []func(context.Context) error
}

// enabled reports whether a signal is exported: OTEL_SDK_DISABLED is not
// "true", its OTEL_<SIGNAL>_EXPORTER is set to something other than
// "none", or it is unset and an OTLP endpoint variable is set (the
// specification's default exporter is otlp; without an endpoint the
// program exports nothing rather than try localhost).
func enabled(getenv func(string) string, signal string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	exp := strings.TrimSpace(getenv("OTEL_" + signal + "_EXPORTER"))
	if exp != "" {
		return exp != "none"
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// New reads the environment and builds the providers. serviceName is the
// service.name when OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES do not
// give one. Call Shutdown to flush and stop the exporters.
func New(ctx context.Context, serviceName string) (*Providers, error) {
	p := &Providers{
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		Propagator:     autoprop.NewTextMapPropagator(),
		Traces:         enabled(os.Getenv, "TRACES"),
		Metrics:        enabled(os.Getenv, "METRICS"),
	}
	if !p.Traces && !p.Metrics {
		return p, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && res == nil {
		return nil, fmt.Errorf("otel resource: %w", err)
	}
	if p.Traces {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("otel traces exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		p.TracerProvider = tp
		p.shutdown = append(p.shutdown, tp.Shutdown)
	}
	if p.Metrics {
		r, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			_ = p.Shutdown(ctx)
			return nil, fmt.Errorf("otel metrics exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r), sdkmetric.WithResource(res))
		p.MeterProvider = mp
		p.shutdown = append(p.shutdown, mp.Shutdown)
	}
	return p, nil
}

// TransportOptions returns the options that give the transport these
// providers and the propagator.
func (p *Providers) TransportOptions() []transport.Option {
	return []transport.Option{
		transport.WithTracerProvider(p.TracerProvider),
		transport.WithMeterProvider(p.MeterProvider),
		transport.WithPropagator(p.Propagator),
	}
}

// Shutdown flushes what is buffered (spans in the batch processor, the
// last metric collection) to the exporters and stops them, up to ctx's
// deadline. It is safe to call more than once.
func (p *Providers) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range p.shutdown {
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	p.shutdown = nil
	if len(errs) > 0 {
		return fmt.Errorf("otel shutdown: %w", errors.Join(errs...))
	}
	return nil
}
