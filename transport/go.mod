module github.com/rustok/rustok-iggy/transport

go 1.26

require (
	github.com/OneOfOne/xxhash v1.2.8
	github.com/google/uuid v1.6.0
	github.com/rustok/rustok-iggy/core v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/rustok/rustok-iggy/core => ../core
