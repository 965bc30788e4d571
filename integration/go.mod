module github.com/rustok/rustok-iggy/integration

go 1.26

require (
	github.com/rustok/rustok-iggy/adapters v0.0.0
	github.com/rustok/rustok-iggy/connector v0.0.0
	github.com/rustok/rustok-iggy/core v0.0.0
	github.com/rustok/rustok-iggy/transport v0.0.0
)

replace github.com/rustok/rustok-iggy/core => ../core

replace github.com/rustok/rustok-iggy/connector => ../connector

replace github.com/rustok/rustok-iggy/transport => ../transport

replace github.com/rustok/rustok-iggy/adapters => ../adapters
