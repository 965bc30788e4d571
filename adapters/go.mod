module github.com/rustok/rustok-iggy/adapters

go 1.26.0

require (
	github.com/rustok/rustok-iggy/connector v0.0.0
	github.com/rustok/rustok-iggy/core v0.0.0
	github.com/rustok/rustok-iggy/transport v0.0.0
)

require (
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/dig v1.19.0 // indirect
	go.uber.org/fx v1.24.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.26.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core

replace github.com/rustok/rustok-iggy/connector => ../connector

replace github.com/rustok/rustok-iggy/transport => ../transport
