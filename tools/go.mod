module github.com/rustok/rustok-iggy/tools

go 1.26.0

require (
	github.com/rustok/rustok-iggy/adapters v0.0.0
	github.com/rustok/rustok-iggy/connector v0.0.0
	github.com/rustok/rustok-iggy/core v0.0.0
	github.com/rustok/rustok-iggy/transport v0.0.0
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/apache/iggy/foreign/go v0.8.0 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/nats-io/jwt/v2 v2.8.3 // indirect
	github.com/nats-io/nats-server/v2 v2.15.3 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core

replace github.com/rustok/rustok-iggy/connector => ../connector

replace github.com/rustok/rustok-iggy/transport => ../transport

replace github.com/rustok/rustok-iggy/adapters => ../adapters
