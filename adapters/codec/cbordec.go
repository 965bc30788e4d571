package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
)

// The CBOR decoder is written by hand, without reflection. It makes the
// same accept/reject decisions, and gives the same envelope, as the
// fxamacker/cbor reflective decoder it replaced (kept as the reference in
// cbordecref_test.go, compared by FuzzCBORDecode). Its rules:
//
//   - Well-formedness is checked first over the whole input, unknown keys'
//     values included: no indefinite lengths, nesting of arrays, maps and
//     chained tags at most cborMaxDepth deep, arrays of at most 16
//     elements, maps of at most 32 pairs, no reserved additional
//     information, no two-byte simple values below 32, no trailing bytes.
//   - Map keys are integers or text strings (valid UTF-8); integer keys
//     must fit an int64; text keys never name a field; unknown keys are
//     skipped without looking inside their values; any key seen twice is
//     an error.
//   - Tag 55799 (self-described CBOR) may precede any value and is ignored.
//     null and undefined mean "absent" for every field; a required field
//     that is null counts as missing.
//   - A UUID is exactly null or a byte string of 16 bytes with a one-byte
//     head; a timestamp is null or exactly one tag 1001 on a map, null or
//     undefined (null content counts as 0 s).
//   - Elsewhere the reference's general rules apply, which no encoder of
//     the format relies on but which are kept so that no input changes
//     meaning: tags other than 0 to 3 are ignored; tag 0 must be on a text
//     string and tag 1 on a number; tags 2 and 3 (bignums) are numbers for
//     integer fields and their bytes for event.data; an integer field takes
//     a simple value (0 to 19, 32 to 255) as that number; event.data may be
//     an array of integers 0 to 255.

// Decoder limits, as the reference decoder had them.
const (
	cborMaxDepth       = 4
	cborMaxArrayItems  = 16
	cborMaxMapPairs    = 32
	tagSelfDescribed   = 55799
	cborSimpleFalse    = 20 // additional information of false; 21 is true
	cborSimpleNull     = 22
	cborSimpleUndef    = 23
	cborArray          = 4
	cborSimple         = 7
	cborEnvelopeFields = 12
)

var cborTypeNames = [8]string{"positive integer", "negative integer", "byte string", "UTF-8 text string", "array", "map", "tag", "primitives"}

// cborWellFormed checks that b is exactly one well-formed data item within
// the decoder limits.
func cborWellFormed(b []byte) error {
	off, err := cborCheckItem(b, 0, 0)
	if err != nil {
		return err
	}
	if off != len(b) {
		return fmt.Errorf("cbor: %d bytes of extraneous data starting at index %d", len(b)-off, off)
	}
	return nil
}

// cborWellFormedHead reads the head at b[off:] and returns its major type,
// additional information, argument and the offset after it.
func cborWellFormedHead(b []byte, off int) (major, ai byte, val uint64, next int, err error) {
	if off >= len(b) {
		return 0, 0, 0, off, io.ErrUnexpectedEOF
	}
	major, ai = b[off]>>5, b[off]&0x1f
	off++
	switch {
	case ai < 24:
		return major, ai, uint64(ai), off, nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(b)-off < n {
			return 0, 0, 0, off, io.ErrUnexpectedEOF
		}
		for _, c := range b[off : off+n] {
			val = val<<8 | uint64(c)
		}
		if ai == 24 && major == cborSimple && val < 32 {
			return 0, 0, 0, off, fmt.Errorf("cbor: invalid simple value %d for type primitives", val)
		}
		return major, ai, val, off + n, nil
	case ai == 31:
		switch major {
		case cborUint, cborNeg, cborTag:
			return 0, 0, 0, off, fmt.Errorf("cbor: invalid additional information 31 for type %s", cborTypeNames[major])
		case cborSimple:
			return 0, 0, 0, off, errors.New(`cbor: unexpected "break" code`)
		}
		return 0, 0, 0, off, fmt.Errorf("cbor: indefinite-length %s isn't allowed", cborTypeNames[major])
	}
	return 0, 0, 0, off, fmt.Errorf("cbor: invalid additional information %d for type %s", ai, cborTypeNames[major])
}

// cborCheckItem checks the data item at b[off:], whose enclosing arrays,
// maps and chained tags are depth deep, and returns the offset after it.
func cborCheckItem(b []byte, off, depth int) (int, error) {
	var major byte
	var val uint64
	var err error
	if off < len(b) && b[off]&0x1f < 24 { // fast path: argument in the first byte
		major, val = b[off]>>5, uint64(b[off]&0x1f)
		off++
	} else if major, _, val, off, err = cborWellFormedHead(b, off); err != nil {
		return off, err
	}
	switch major {
	case cborBytes, cborText:
		if val > uint64(len(b)-off) {
			return off, io.ErrUnexpectedEOF
		}
		return off + int(val), nil
	case cborArray, cborMap:
		if depth++; depth > cborMaxDepth {
			return off, fmt.Errorf("cbor: exceeded max nested level %d", cborMaxDepth)
		}
		items := val
		if major == cborArray {
			if val > cborMaxArrayItems {
				return off, fmt.Errorf("cbor: exceeded max number of elements %d for CBOR array", cborMaxArrayItems)
			}
		} else {
			if val > cborMaxMapPairs {
				return off, fmt.Errorf("cbor: exceeded max number of key-value pairs %d for CBOR map", cborMaxMapPairs)
			}
			items *= 2
		}
		for range items {
			if off, err = cborCheckItem(b, off, depth); err != nil {
				return off, err
			}
		}
		return off, nil
	case cborTag:
		// Each tag after the first in a chain counts as one level.
		for off < len(b) && b[off]>>5 == cborTag {
			if _, _, _, off, err = cborWellFormedHead(b, off); err != nil {
				return off, err
			}
			if depth++; depth > cborMaxDepth {
				return off, fmt.Errorf("cbor: exceeded max nested level %d", cborMaxDepth)
			}
		}
		return cborCheckItem(b, off, depth)
	}
	return off, nil
}

// cborReader walks an input that cborWellFormed accepted. Its methods still
// check bounds (returning io.ErrUnexpectedEOF), so a bug cannot make them
// panic.
type cborReader struct {
	b   []byte
	off int
}

// head reads the head of the next item.
func (r *cborReader) head() (major, ai byte, val uint64, err error) {
	if r.off < len(r.b) && r.b[r.off]&0x1f < 24 { // inlined fast path
		c := r.b[r.off]
		r.off++
		return c >> 5, c & 0x1f, uint64(c & 0x1f), nil
	}
	major, ai, val, r.off, err = cborWellFormedHead(r.b, r.off)
	return major, ai, val, err
}

// peek returns the major type and additional information of the next
// item without consuming it.
func (r *cborReader) peek() (major, ai byte, err error) {
	if r.off >= len(r.b) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return r.b[r.off] >> 5, r.b[r.off] & 0x1f, nil
}

// stripSelfDescribed skips any tags 55799 before the next item.
func (r *cborReader) stripSelfDescribed() error {
	for {
		if r.off >= len(r.b) {
			return io.ErrUnexpectedEOF
		}
		if r.b[r.off]>>5 != cborTag {
			return nil
		}
		start := r.off
		_, _, val, err := r.head()
		if err != nil {
			return err
		}
		if val != tagSelfDescribed {
			r.off = start
			return nil
		}
	}
}

// nextIsNil reports whether the next item is null or undefined.
func (r *cborReader) nextIsNil() bool {
	return r.off < len(r.b) && (r.b[r.off] == 0xf6 || r.b[r.off] == 0xf7)
}

// bytes reads the content of a string whose head has been read.
func (r *cborReader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, io.ErrUnexpectedEOF
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// skip moves past the next item.
func (r *cborReader) skip() error {
	for items := uint64(1); items > 0; items-- {
		major, _, val, err := r.head()
		if err != nil {
			return err
		}
		switch major {
		case cborBytes, cborText:
			if _, err := r.bytes(val); err != nil {
				return err
			}
		case cborArray:
			items += val
		case cborMap:
			items += 2 * val
		case cborTag:
			items++
		}
	}
	return nil
}

// typeError is the error for an item of the wrong type.
func cborTypeError(major byte, what string) error {
	return fmt.Errorf("cbor: cannot unmarshal %s into %s", cborTypeNames[major&7], what)
}

// Kinds of Go values a field is read into, as the reference saw them.
const (
	kindText  = iota // string
	kindUint         // uint16 or uint32 (limit given)
	kindInt          // int64
	kindBytes        // []byte
)

// cborValue is a field value read by value.
type cborValue struct {
	s []byte // kindText, kindBytes
	u uint64 // kindUint
	i int64  // kindInt
}

// checkBuiltinTags checks the tags before the next item as the reference
// did: tag 0 must be on a text string, tag 1 on an integer or a float,
// tags 2 and 3 on a byte string.
func (r *cborReader) checkBuiltinTags() error {
	off := r.off
	for off < len(r.b) && r.b[off]>>5 == cborTag {
		_, _, num, next, err := cborWellFormedHead(r.b, off)
		if err != nil {
			return err
		}
		if next >= len(r.b) {
			return io.ErrUnexpectedEOF
		}
		c := r.b[next]
		ok := true
		switch num {
		case 0:
			ok = c>>5 == cborText
		case 1:
			ok = c>>5 == cborUint || c>>5 == cborNeg || (c >= 0xf9 && c <= 0xfb)
		case 2, 3:
			ok = c>>5 == cborBytes
		}
		if !ok {
			return fmt.Errorf("cbor: tag number %d cannot be followed by %s", num, cborTypeNames[c>>5])
		}
		off = next
	}
	return nil
}

// fillUint stores the non-negative integer n as a value of kind.
func fillUint(kind int, max, n uint64, what string) (cborValue, error) {
	switch kind {
	case kindUint:
		if n <= max {
			return cborValue{u: n}, nil
		}
	case kindInt:
		if n <= math.MaxInt64 {
			return cborValue{i: int64(n)}, nil
		}
	default:
		return cborValue{}, fmt.Errorf("cbor: cannot unmarshal positive integer into %s", what)
	}
	return cborValue{}, fmt.Errorf("cbor: cannot unmarshal positive integer into %s: %d overflows", what, n)
}

// bignum returns the magnitude of a bignum's bytes, if it fits a uint64.
func bignum(b []byte) (uint64, bool) {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > 8 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n, true
}

// value reads a field value (after the caller has handled null where the
// field is a pointer in the reference) into a Go value of kind, as the
// reference's reflective decoder did. null and undefined give the zero
// value. For kindBytes, the result may alias the input.
func (r *cborReader) value(kind int, max uint64, what string) (cborValue, error) {
	for {
		if err := r.stripSelfDescribed(); err != nil {
			return cborValue{}, err
		}
		if err := r.checkBuiltinTags(); err != nil {
			return cborValue{}, err
		}
		major, ai, val, err := r.head()
		if err != nil {
			return cborValue{}, err
		}
		switch major {
		case cborUint:
			return fillUint(kind, max, val, what)
		case cborNeg:
			if kind != kindInt {
				return cborValue{}, cborTypeError(major, what)
			}
			if val > math.MaxInt64 {
				return cborValue{}, fmt.Errorf("cbor: cannot unmarshal negative integer into %s: -1-%d overflows Go's int64", what, val)
			}
			return cborValue{i: -1 - int64(val)}, nil
		case cborBytes, cborText:
			s, err := r.bytes(val)
			if err != nil {
				return cborValue{}, err
			}
			if major == cborText && !utf8.Valid(s) {
				return cborValue{}, fmt.Errorf("cbor: %s: invalid UTF-8 string", what)
			}
			if (major == cborText) != (kind == kindText) || kind == kindUint || kind == kindInt {
				return cborValue{}, cborTypeError(major, what)
			}
			return cborValue{s: s}, nil
		case cborSimple:
			switch {
			case ai == cborSimpleNull || ai == cborSimpleUndef:
				return cborValue{}, nil
			case ai < cborSimpleFalse || ai == 24:
				return fillUint(kind, max, val, what)
			}
			return cborValue{}, cborTypeError(major, what)
		case cborArray:
			if kind != kindBytes {
				return cborValue{}, cborTypeError(major, what)
			}
			out := make([]byte, val) // at most 16, checked by cborWellFormed
			for i := range out {
				v, err := r.value(kindUint, math.MaxUint8, what+" element")
				if err != nil {
					return cborValue{}, err
				}
				out[i] = byte(v.u)
			}
			return cborValue{s: out}, nil
		case cborMap:
			return cborValue{}, cborTypeError(major, what)
		}
		// A tag: bignums are numbers (or bytes); any other is ignored
		// and its content read instead.
		if val != 2 && val != 3 {
			continue
		}
		_, _, n, err := r.head()
		if err != nil {
			return cborValue{}, err
		}
		b, err := r.bytes(n)
		if err != nil {
			return cborValue{}, err
		}
		switch kind {
		case kindBytes:
			return cborValue{s: b}, nil
		case kindText:
			return cborValue{}, fmt.Errorf("cbor: cannot unmarshal bignum into %s", what)
		}
		m, fits := bignum(b)
		if val == 2 {
			if !fits {
				return cborValue{}, fmt.Errorf("cbor: cannot unmarshal bignum into %s: overflows", what)
			}
			return fillUint(kind, max, m, what)
		}
		if kind != kindInt || !fits || m > math.MaxInt64 {
			return cborValue{}, fmt.Errorf("cbor: cannot unmarshal negative bignum into %s", what)
		}
		return cborValue{i: -1 - int64(m)}, nil
	}
}

// cborKeys records the keys of one map to find duplicates: integer keys
// (known or not) and unknown text keys.
type cborKeys struct {
	ints  [cborMaxMapPairs]int64
	texts [cborMaxMapPairs][]byte
	ni    int
	nt    int
}

func (k *cborKeys) addInt(v int64) error {
	for _, x := range k.ints[:k.ni] {
		if x == v {
			return fmt.Errorf("cbor: found duplicate map key %d", v)
		}
	}
	if k.ni == len(k.ints) { // cannot happen: maps have at most 32 pairs
		return errors.New("cbor: too many map keys")
	}
	k.ints[k.ni] = v
	k.ni++
	return nil
}

func (k *cborKeys) addText(v []byte) error {
	for _, x := range k.texts[:k.nt] {
		if bytes.Equal(x, v) {
			return fmt.Errorf("cbor: found duplicate map key %q", v)
		}
	}
	if k.nt == len(k.texts) {
		return errors.New("cbor: too many map keys")
	}
	k.texts[k.nt] = v
	k.nt++
	return nil
}

// mapKey reads a map key. Text keys are recorded (they are always unknown)
// and their value is skipped; known reports that an integer key was read
// and its value is next.
func (r *cborReader) mapKey(keys *cborKeys) (key int64, known bool, err error) {
	major, _, val, err := r.head()
	if err != nil {
		return 0, false, err
	}
	switch major {
	case cborText:
		s, err := r.bytes(val)
		if err != nil {
			return 0, false, err
		}
		if !utf8.Valid(s) {
			return 0, false, errors.New("cbor: map key: invalid UTF-8 string")
		}
		if err := keys.addText(s); err != nil {
			return 0, false, err
		}
		return 0, false, r.skip()
	case cborUint, cborNeg:
		if val > math.MaxInt64 {
			return 0, false, fmt.Errorf("cbor: map key %s %d overflows Go's int64", cborTypeNames[major], val)
		}
		key = int64(val)
		if major == cborNeg {
			key = -1 - key
		}
		if err := keys.addInt(key); err != nil {
			return 0, false, err
		}
		return key, true, nil
	}
	return 0, false, fmt.Errorf("cbor: map key is of type %s and cannot be used to match struct field name", cborTypeNames[major])
}

// cborFields is the envelope as read, before the checks of missing keys
// and the timestamp's range.
type cborFields struct {
	ids                  [5]uuid.UUID // id, correlation, causation, tenant, actor
	idSet                [5]bool
	eventType, eventName []byte
	traceID, data        []byte
	hasType, hasName     bool
	hasSchema, hasTime   bool
	schema               uint16
	retry                uint32
	seconds              int64
	nanos                uint32
}

// cborUUIDSlot maps keys 0, 3, 4, 5 and 8 to an index of cborFields.ids.
var cborUUIDSlot = [cborEnvelopeFields]int8{0: 0, 1: -1, 2: -1, 3: 1, 4: 2, 5: 3, 6: -1, 7: -1, 8: 4, 9: -1, 10: -1, 11: -1}

// envelope reads the top-level map. As in the reference, tags other than
// 0 to 3 before it are ignored and null stands for an empty map.
func (r *cborReader) envelope(f *cborFields) error {
	var major, ai byte
	var n uint64
	for {
		if err := r.stripSelfDescribed(); err != nil {
			return err
		}
		if err := r.checkBuiltinTags(); err != nil {
			return err
		}
		var err error
		if major, ai, n, err = r.head(); err != nil {
			return err
		}
		if major != cborTag {
			break
		}
		if n <= 3 {
			return fmt.Errorf("cbor: cannot unmarshal tag %d into the envelope map", n)
		}
	}
	switch {
	case major == cborMap:
	case major == cborSimple && (ai == cborSimpleNull || ai == cborSimpleUndef):
		return nil // no field present
	default:
		return cborTypeError(major, "envelope map")
	}
	var keys cborKeys
	for range n {
		key, known, err := r.mapKey(&keys)
		if err != nil {
			return err
		}
		if !known {
			continue
		}
		if key < 0 || key >= cborEnvelopeFields {
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		if err := r.field(f, int(key)); err != nil {
			return fmt.Errorf("key %d: %w", key, err)
		}
	}
	return nil
}

// field reads the value of envelope key k (0 to 11).
func (r *cborReader) field(f *cborFields, k int) error {
	if err := r.stripSelfDescribed(); err != nil {
		return err
	}
	if slot := cborUUIDSlot[k]; slot >= 0 {
		// The reference's UnmarshalCBOR saw the item's raw bytes: exactly
		// null or 0x50 and 16 bytes.
		if r.b[r.off] == 0xf6 {
			r.off++
			f.idSet[slot] = false
			return nil
		}
		if r.b[r.off] != cborBytes<<5|16 || len(r.b)-r.off < 17 {
			start := r.off
			if err := r.skip(); err != nil {
				return err
			}
			return fmt.Errorf("cbor: want a 16-byte byte string (UUID), got %d bytes starting 0x%02x", r.off-start, r.b[start])
		}
		copy(f.ids[slot][:], r.b[r.off+1:r.off+17])
		f.idSet[slot] = true
		r.off += 17
		return nil
	}
	if (k == 1 || k == 2 || k == 7 || k == 9) && r.nextIsNil() {
		// Pointers in the reference: null leaves the field absent.
		r.off++
		return nil
	}
	var v cborValue
	var err error
	switch k {
	case 1:
		v, err = r.value(kindText, 0, "event_type")
		f.eventType, f.hasType = v.s, true
	case 9:
		v, err = r.value(kindText, 0, "event.type")
		f.eventName, f.hasName = v.s, true
	case 6:
		v, err = r.value(kindText, 0, "trace_id")
		f.traceID = v.s
	case 2:
		v, err = r.value(kindUint, math.MaxUint16, "schema_version (uint16)")
		f.schema, f.hasSchema = uint16(v.u), true
	case 11:
		v, err = r.value(kindUint, math.MaxUint32, "retry_count (uint32)")
		f.retry = uint32(v.u)
	case 10:
		v, err = r.value(kindBytes, 0, "event.data ([]uint8)")
		f.data = v.s
	case 7:
		f.hasTime = true
		err = r.timestamp(f)
	}
	return err
}

// timestamp reads tag 1001 and its map (after null has been ruled out).
func (r *cborReader) timestamp(f *cborFields) error {
	major, _, val, err := r.head()
	if err != nil {
		return err
	}
	if major != cborTag {
		return fmt.Errorf("cbor: cannot unmarshal %s into timestamp: expect CBOR tag value %d", cborTypeNames[major], TagExtendedTime)
	}
	if next, _, err := r.peek(); err != nil {
		return err
	} else if val != TagExtendedTime || next == cborTag {
		return fmt.Errorf("cbor: timestamp: wrong tag number, want %d", TagExtendedTime)
	}
	if r.nextIsNil() { // the reference left the zero seconds and nanoseconds
		r.off++
		return nil
	}
	major, _, n, err := r.head()
	if err != nil {
		return err
	}
	if major != cborMap {
		return cborTypeError(major, "timestamp map")
	}
	var keys cborKeys
	for range n {
		key, known, err := r.mapKey(&keys)
		if err != nil {
			return err
		}
		if !known {
			continue
		}
		if key != 1 && key != -9 {
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		if key == -9 {
			v, err := r.value(kindUint, math.MaxUint32, "timestamp nanoseconds (uint32)")
			if err != nil {
				return err
			}
			f.nanos = uint32(v.u)
			continue
		}
		v, err := r.value(kindInt, 0, "timestamp seconds (int64)")
		if err != nil {
			return err
		}
		f.seconds = v.i
	}
	return nil
}

// Decode parses a CBOR envelope in the layout described on CBOR. Errors
// wrap ErrDecode; the result does not alias b. It reads b without
// reflection, in two passes (well-formedness, then fields); a valid
// envelope costs two allocations (one for the three strings, one for
// event.data), three if its event.data is written as an array.
func (CBOR) Decode(b []byte) (core.Envelope, error) {
	if err := checkSize("cbor", b); err != nil {
		return core.Envelope{}, err
	}
	if err := cborWellFormed(b); err != nil {
		return core.Envelope{}, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	var f cborFields
	r := cborReader{b: b}
	if err := r.envelope(&f); err != nil {
		return core.Envelope{}, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if !f.idSet[0] || !f.hasType || !f.hasSchema || !f.idSet[1] || !f.idSet[3] || !f.hasTime || !f.hasName {
		var missing []string
		for _, m := range [...]struct {
			ok   bool
			name string
		}{
			{f.idSet[0], "0 (id)"}, {f.hasType, "1 (event_type)"}, {f.hasSchema, "2 (schema_version)"},
			{f.idSet[1], "3 (correlation_id)"}, {f.idSet[3], "5 (tenant_id)"}, {f.hasTime, "7 (timestamp)"},
			{f.hasName, "9 (event.type)"},
		} {
			if !m.ok {
				missing = append(missing, m.name)
			}
		}
		return core.Envelope{}, fmt.Errorf("%w: cbor: missing key(s) %v", ErrDecode, missing)
	}
	if f.nanos >= 1e9 {
		return core.Envelope{}, fmt.Errorf("%w: cbor: timestamp nanoseconds %d out of range", ErrDecode, f.nanos)
	}
	if f.seconds < minUnixSeconds || f.seconds > maxUnixSeconds {
		return core.Envelope{}, fmt.Errorf("%w: cbor: timestamp %d s is outside years 0 to 9999", ErrDecode, f.seconds)
	}
	// The three strings share one allocation (they are small and live
	// as long as each other); event.data has its own, so holding on to a
	// string does not keep the data alive.
	var eventType, traceID, eventName string
	if n := len(f.eventType) + len(f.traceID) + len(f.eventName); n > 0 {
		buf := make([]byte, 0, n)
		buf = append(append(append(buf, f.eventType...), f.traceID...), f.eventName...)
		eventType = unsafe.String(unsafe.SliceData(buf), len(f.eventType))
		traceID = unsafe.String(unsafe.SliceData(buf[len(f.eventType):]), len(f.traceID))
		eventName = unsafe.String(unsafe.SliceData(buf[len(f.eventType)+len(f.traceID):]), len(f.eventName))
	}
	e := core.Envelope{
		ID:            f.ids[0],
		EventType:     eventType,
		SchemaVersion: f.schema,
		CorrelationID: f.ids[1],
		CausationID:   f.ids[2],
		TenantID:      f.ids[3],
		TraceID:       traceID,
		ActorID:       f.ids[4],
		Event:         core.Event{Type: eventName},
		RetryCount:    f.retry,
	}
	if f.seconds != zeroTimeUnix || f.nanos != 0 {
		e.Timestamp = time.Unix(f.seconds, int64(f.nanos)).UTC()
	}
	if len(f.data) > 0 {
		e.Event.Data = bytes.Clone(f.data)
	}
	return e, nil
}
