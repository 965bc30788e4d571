module github.com/rustok/rustok-iggy/tools

go 1.26.0

require (
	github.com/rustok/rustok-iggy/adapters v0.0.0
	github.com/rustok/rustok-iggy/connector v0.0.0
	github.com/rustok/rustok-iggy/core v0.0.0
	github.com/rustok/rustok-iggy/transport v0.0.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/rustok/rustok-iggy/core => ../core

replace github.com/rustok/rustok-iggy/connector => ../connector

replace github.com/rustok/rustok-iggy/transport => ../transport

replace github.com/rustok/rustok-iggy/adapters => ../adapters
