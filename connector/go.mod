module github.com/rustok/rustok-iggy/connector

go 1.26.0

require github.com/rustok/rustok-iggy/core v0.0.0

require (
	github.com/OneOfOne/xxhash v1.2.8 // indirect
	github.com/apache/iggy/foreign/go v0.8.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core
