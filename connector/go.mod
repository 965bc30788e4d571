module github.com/rustok/rustok-iggy/connector

go 1.26.0

require (
	github.com/OneOfOne/xxhash v1.2.8
	github.com/apache/iggy/foreign/go v0.8.0
	github.com/google/uuid v1.6.0
	github.com/klauspost/compress v1.20.4
	github.com/rustok/rustok-iggy/core v0.0.0
	github.com/zeebo/xxh3 v1.1.0
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/avast/retry-go/v5 v5.0.0 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core
