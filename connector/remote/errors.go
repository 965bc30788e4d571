package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	ierror "github.com/apache/iggy/foreign/go/errors"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// sdkCodes maps the Go SDK's own error codes, which iggyproto's server table
// does not list (client-side validation and connection states), to core
// sentinels. Server codes are looked up in iggyproto first.
var sdkCodes = map[iggyproto.Code]error{
	9:    core.ErrUnavailable,     // CannotEstablishConnection
	31:   core.ErrUnavailable,     // TcpError
	53:   core.ErrUnauthenticated, // InvalidPersonalAccessToken
	61:   core.ErrUnavailable,     // NotConnected
	63:   core.ErrUnavailable,     // ClientShutdown
	64:   core.ErrInvalid,         // InvalidTlsDomain
	65:   core.ErrInvalid,         // InvalidTlsCertificatePath
	66:   core.ErrInvalid,         // InvalidTlsCertificate
	206:  core.ErrUnavailable,     // ConnectionClosed
	304:  core.ErrUnavailable,     // EmptyResponse
	1010: core.ErrNotFound,        // StreamNameNotFound
	1013: core.ErrInvalid,         // InvalidStreamName
	2011: core.ErrNotFound,        // TopicNameNotFound
	2014: core.ErrInvalid,         // InvalidTopicName
	2018: core.ErrInvalid,         // InvalidReplicationFactor
	4018: core.ErrInvalid,         // InvalidHeaderKey
	4019: core.ErrInvalid,         // InvalidHeaderValue
	4023: core.ErrInvalid,         // TooManyMessages
	4024: core.ErrInvalid,         // EmptyMessagePayload
	4025: core.ErrInvalid,         // InvalidMessagePayloadLength
	4028: core.ErrInvalid,         // InvalidKeyValueLength
	5003: core.ErrNotFound,        // ConsumerGroupNameNotFound
	5005: core.ErrInvalid,         // InvalidConsumerGroupName
}

// brokenCodes are codes after which the connection cannot be used again.
var brokenCodes = map[iggyproto.Code]bool{
	8: true, 9: true, 30: true, 31: true, 61: true, 63: true, 100: true, 206: true, 304: true,
}

// sentinelOf returns the core sentinel for an Iggy or SDK code, or nil.
func sentinelOf(c iggyproto.Code) error {
	if s := c.Sentinel(); s != nil {
		return s
	}
	return sdkCodes[c]
}

// Error is a failure reported by the Iggy server or the Go SDK, with its
// numeric code. errors.Is matches the core sentinel of the code (as
// iggyproto.Error does), and errors.As recovers both the *iggyproto.Error
// (the code) and the SDK's own error value (for example
// ierror.StreamIdNotFound); see Unwrap for the exception. The SDK turns codes it does not know into code 1
// (ierror.ErrError), which maps to no sentinel.
type Error struct {
	// Code is the Iggy error code.
	Code iggyproto.Code
	// SDK is the error the SDK returned.
	SDK error
}

func (e *Error) Error() string {
	return fmt.Sprintf("iggy error %d (%s): %v", uint32(e.Code), e.Code, e.SDK)
}

// Is reports whether target is the core sentinel for e's code; codes that
// end the connection (8, 30, 100, ...) match core.ErrUnavailable only.
func (e *Error) Is(target error) bool {
	if brokenCodes[e.Code] {
		return target == core.ErrUnavailable
	}
	s := sentinelOf(e.Code)
	return s != nil && s == target
}

// Unwrap returns the code as an *iggyproto.Error and the SDK's error. For
// a code that ends the connection only the SDK's error is returned, so that
// its iggyproto sentinel (ClientNotFound is "not found") does not match.
func (e *Error) Unwrap() []error {
	if brokenCodes[e.Code] {
		return []error{e.SDK}
	}
	return []error{&iggyproto.Error{Code: e.Code}, e.SDK}
}

// errUnavailable marks a connection failure: errors.Is matches
// core.ErrUnavailable and the cause stays reachable.
type errUnavailable struct{ cause error }

func (e *errUnavailable) Error() string   { return "broker unavailable: " + e.cause.Error() }
func (e *errUnavailable) Unwrap() []error { return []error{core.ErrUnavailable, e.cause} }

// unavailable wraps cause so that it matches core.ErrUnavailable.
func unavailable(cause error) error {
	if cause == nil {
		return core.ErrUnavailable
	}
	if errors.Is(cause, core.ErrUnavailable) {
		return cause
	}
	return &errUnavailable{cause: cause}
}

// mapErr turns an error from the SDK into one that matches the core
// sentinels. Connection failures become core.ErrUnavailable; errors carrying
// an Iggy code become *Error. Other errors are returned unchanged.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var ie ierror.IggyError
	if errors.As(err, &ie) {
		e := &Error{Code: iggyproto.Code(ie.Code()), SDK: err}
		if brokenCodes[e.Code] {
			return unavailable(e)
		}
		return e
	}
	if isConnErr(err) {
		return unavailable(err)
	}
	return err
}

// isBroken reports whether err means the connection it came from must not
// be used again.
func isBroken(err error) bool {
	if err == nil {
		return false
	}
	var ie ierror.IggyError
	if errors.As(err, &ie) {
		return brokenCodes[iggyproto.Code(ie.Code())]
	}
	return isConnErr(err)
}

// isConnErr reports whether err is an I/O failure of the connection.
func isConnErr(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errKilled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// errKilled is the cause recorded when the connector closes a connection
// whose request overran its deadline.
var errKilled = errors.New("connection closed after a request timed out")

// ctxErr wraps ctx's error for a call cut short by it.
func ctxErr(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
