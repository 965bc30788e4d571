module github.com/rustok/rustok-iggy/transport

go 1.26

require github.com/rustok/rustok-iggy/core v0.0.0

require (
	github.com/google/uuid v1.6.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core
