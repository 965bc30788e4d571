package remote

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	ierror "github.com/apache/iggy/foreign/go/errors"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

var sentinels = []error{
	core.ErrNotFound, core.ErrAlreadyExists, core.ErrUnauthenticated, core.ErrPermissionDenied,
	core.ErrUnavailable, core.ErrInvalid, core.ErrNotMember, core.ErrClosed,
}

func TestMapErrCodes(t *testing.T) {
	for _, tc := range []struct {
		code uint32
		want error // nil: no sentinel
	}{
		{1, nil}, // generic, and every code the SDK does not know
		{2, core.ErrInvalid}, {3, core.ErrInvalid}, {4, core.ErrInvalid}, {6, core.ErrInvalid},
		{8, core.ErrUnavailable}, {9, core.ErrUnavailable},
		{20, core.ErrNotFound}, {30, core.ErrUnavailable},
		{40, core.ErrUnauthenticated}, {41, core.ErrPermissionDenied}, {42, core.ErrUnauthenticated},
		{47, core.ErrUnauthenticated}, {53, core.ErrUnauthenticated}, {54, core.ErrUnauthenticated},
		{46, core.ErrAlreadyExists}, {51, core.ErrAlreadyExists},
		{61, core.ErrUnavailable}, {63, core.ErrUnavailable}, {100, core.ErrUnavailable},
		{206, core.ErrUnavailable}, {304, core.ErrUnavailable},
		{1009, core.ErrNotFound}, {1010, core.ErrNotFound}, {1012, core.ErrAlreadyExists}, {1013, core.ErrInvalid},
		{1019, core.ErrInvalid},
		{2010, core.ErrNotFound}, {2011, core.ErrNotFound}, {2013, core.ErrAlreadyExists}, {2014, core.ErrInvalid},
		{2015, core.ErrInvalid}, {2018, core.ErrInvalid},
		{3007, core.ErrNotFound}, {3021, core.ErrNotFound},
		{4009, core.ErrInvalid}, {4017, core.ErrInvalid}, {4022, core.ErrInvalid}, {4024, core.ErrInvalid},
		{4025, core.ErrInvalid}, {4028, core.ErrInvalid}, {4100, core.ErrInvalid},
		{5000, core.ErrNotFound}, {5003, core.ErrNotFound}, {5004, core.ErrAlreadyExists}, {5005, core.ErrInvalid},
		{5006, core.ErrNotMember},
	} {
		sdk := ierror.FromCode(ierror.Code(tc.code))
		if uint32(sdk.Code()) != tc.code {
			t.Fatalf("the SDK does not know code %d (gives %d)", tc.code, sdk.Code())
		}
		err := fmt.Errorf("op: %w", mapErr(fmt.Errorf("sdk wrap: %w", sdk)))
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("code %d: errors.Is(%v) = %v, want %v", tc.code, s, got, s == tc.want)
			}
		}
		var ie ierror.IggyError
		if !errors.As(err, &ie) || uint32(ie.Code()) != tc.code {
			t.Errorf("code %d: errors.As did not recover the SDK error from %v", tc.code, err)
		}
		if !errors.Is(err, sdk) {
			t.Errorf("code %d: errors.Is(err, SDK value) = false", tc.code)
		}
		var pe *iggyproto.Error
		if tc.want == core.ErrUnavailable {
			continue // connection-ending codes do not expose their iggyproto sentinel
		}
		if !errors.As(err, &pe) || uint32(pe.Code) != tc.code {
			t.Errorf("code %d: errors.As(*iggyproto.Error) = %v", tc.code, pe)
		}
	}
}

func TestUnknownServerCodeBecomesCodeOne(t *testing.T) {
	// 3022 NotResolvedConsumer and 2019 are server codes the SDK lacks.
	for _, c := range []uint32{2019, 3022, 12001} {
		err := mapErr(ierror.FromCode(ierror.Code(c)))
		var e *Error
		if !errors.As(err, &e) || e.Code != 1 {
			t.Fatalf("code %d: %v", c, err)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("code %d matches %v", c, s)
			}
		}
	}
}

func TestConnectionErrorsAreUnavailable(t *testing.T) {
	for _, err := range []error{
		io.EOF,
		fmt.Errorf("failed to read response for TCP request: %w", io.ErrUnexpectedEOF),
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		net.ErrClosed,
		fmt.Errorf("received an invalid or empty response: %w", ierror.EmptyResponse{}),
		ierror.ErrDisconnected,
	} {
		if !isBroken(err) {
			t.Errorf("isBroken(%v) = false", err)
		}
		m := mapErr(err)
		if !errors.Is(m, core.ErrUnavailable) {
			t.Errorf("mapErr(%v) = %v, want ErrUnavailable", err, m)
		}
		if !errors.Is(m, err) {
			t.Errorf("mapErr(%v) lost the cause", err)
		}
	}
	for _, err := range []error{ierror.ErrStreamIdNotFound, ierror.ErrInvalidCredentials, errors.New("decode")} {
		if isBroken(err) {
			t.Errorf("isBroken(%v) = true", err)
		}
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}
