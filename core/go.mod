module github.com/rustok/rustok-iggy/core

go 1.26

require (
	github.com/OneOfOne/xxhash v1.2.8
	github.com/google/uuid v1.6.0
)
