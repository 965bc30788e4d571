package core

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// HeaderKind is the type of an Iggy user header value, numbered as on the
// wire.
type HeaderKind uint8

// Header kinds.
const (
	HeaderRaw     HeaderKind = 1
	HeaderString  HeaderKind = 2
	HeaderBool    HeaderKind = 3
	HeaderInt8    HeaderKind = 4
	HeaderInt16   HeaderKind = 5
	HeaderInt32   HeaderKind = 6
	HeaderInt64   HeaderKind = 7
	HeaderInt128  HeaderKind = 8
	HeaderUint8   HeaderKind = 9
	HeaderUint16  HeaderKind = 10
	HeaderUint32  HeaderKind = 11
	HeaderUint64  HeaderKind = 12
	HeaderUint128 HeaderKind = 13
	HeaderFloat32 HeaderKind = 14
	HeaderFloat64 HeaderKind = 15
)

// Header is one Iggy user header. Keys are strings (Iggy key kind 2);
// Value holds the value's bytes as Iggy encodes them for Kind (little-endian
// for numbers).
type Header struct {
	Key   string
	Kind  HeaderKind
	Value []byte
}

// StringHeader returns a string-valued header.
func StringHeader(key, value string) Header {
	return Header{Key: key, Kind: HeaderString, Value: []byte(value)}
}

// Uint64Header returns a uint64-valued header.
func Uint64Header(key string, v uint64) Header {
	return Header{Key: key, Kind: HeaderUint64, Value: binary.LittleEndian.AppendUint64(nil, v)}
}

// String renders the value as text: strings as they are, numbers in
// decimal, raw bytes quoted.
func (h Header) String() string {
	v := h.Value
	switch h.Kind {
	case HeaderString:
		return string(v)
	case HeaderBool:
		if len(v) == 1 {
			return strconv.FormatBool(v[0] != 0)
		}
	case HeaderInt8:
		if len(v) == 1 {
			return strconv.FormatInt(int64(int8(v[0])), 10)
		}
	case HeaderUint8:
		if len(v) == 1 {
			return strconv.FormatUint(uint64(v[0]), 10)
		}
	case HeaderInt16, HeaderUint16:
		if len(v) == 2 {
			u := binary.LittleEndian.Uint16(v)
			if h.Kind == HeaderInt16 {
				return strconv.FormatInt(int64(int16(u)), 10)
			}
			return strconv.FormatUint(uint64(u), 10)
		}
	case HeaderInt32, HeaderUint32:
		if len(v) == 4 {
			u := binary.LittleEndian.Uint32(v)
			if h.Kind == HeaderInt32 {
				return strconv.FormatInt(int64(int32(u)), 10)
			}
			return strconv.FormatUint(uint64(u), 10)
		}
	case HeaderInt64, HeaderUint64:
		if len(v) == 8 {
			u := binary.LittleEndian.Uint64(v)
			if h.Kind == HeaderInt64 {
				return strconv.FormatInt(int64(u), 10)
			}
			return strconv.FormatUint(u, 10)
		}
	case HeaderFloat32:
		if len(v) == 4 {
			return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(v))), 'g', -1, 32)
		}
	case HeaderFloat64:
		if len(v) == 8 {
			return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(v)), 'g', -1, 64)
		}
	}
	return fmt.Sprintf("%q", v)
}

// Headers is a message's user headers in the order they were given.
type Headers []Header

// Get returns the first header with the given key.
func (hs Headers) Get(key string) (Header, bool) {
	for _, h := range hs {
		if h.Key == key {
			return h, true
		}
	}
	return Header{}, false
}

// Value returns the text of the first header with the given key, or "".
func (hs Headers) Value(key string) string {
	if h, ok := hs.Get(key); ok {
		return h.String()
	}
	return ""
}
