package core

import "errors"

// Sentinel errors shared by every port implementation. Implementations wrap
// them (directly or through a typed error with an Is method), so callers test
// with errors.Is and never compare strings.
var (
	// ErrNotFound is returned when a stream, topic, partition, consumer
	// group, consumer offset or user does not exist.
	ErrNotFound = errors.New("not found")

	// ErrAlreadyExists is returned when creating a stream, topic, consumer
	// group or user whose name is taken.
	ErrAlreadyExists = errors.New("already exists")

	// ErrUnauthenticated is returned when the broker rejects the
	// credentials, or a call is made before logging in.
	ErrUnauthenticated = errors.New("unauthenticated")

	// ErrPermissionDenied is returned when the authenticated user lacks the
	// permission a call needs.
	ErrPermissionDenied = errors.New("permission denied")

	// ErrUnavailable is returned when the broker cannot be reached: the
	// connection is down, being re-established, or timed out. The call may
	// succeed if retried later.
	ErrUnavailable = errors.New("broker unavailable")

	// ErrInvalid is returned for a request the broker refuses as malformed
	// or out of range: a bad name, an empty batch, an oversized message, an
	// offset beyond the end of a partition, a bad configuration value.
	ErrInvalid = errors.New("invalid argument")

	// ErrNotMember is returned when a consumer-group operation is made by a
	// session that is not (or is no longer) a member of the group.
	ErrNotMember = errors.New("not a consumer group member")

	// ErrClosed is returned by any call made after Close.
	ErrClosed = errors.New("closed")
)
