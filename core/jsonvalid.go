package core

import (
	"encoding/binary"
	"math/bits"
)

// maxJSONDepth is the deepest nesting of arrays and objects ValidJSON
// accepts: encoding/json's scanner limit, so both refuse the same inputs.
const maxJSONDepth = 10000

// ValidJSON reports whether data is one valid JSON value, optionally
// surrounded by JSON whitespace (space, tab, CR, LF). It gives the same
// answer as encoding/json's Valid for every input, which its differential
// fuzz test checks, but does not allocate and is several times faster.
//
// Like json.Valid it accepts: numbers per the JSON grammar (no leading
// zeros, no leading '+', digits required around '.' and after 'e'); strings
// whose bytes below 0x20 appear only escaped, with the escapes \" \\ \/ \b
// \f \n \r \t and \u plus four hex digits (lone surrogates included), and
// any bytes from 0x20 up, ill-formed UTF-8 included (json.Valid does not
// check it; decoding replaces it with U+FFFD); arrays and objects nested at
// most 10000 deep. Empty input is not valid.
func ValidJSON(data []byte) bool {
	// objects has bit d set when nesting level d (1-based) is an object.
	var objects [maxJSONDepth/64 + 1]uint64
	depth := 0
	n := len(data)
	i := skipJSONSpace(data, 0)

value: // i is at the first byte of a value (after whitespace)
	if i >= n {
		return false
	}
	switch c := data[i]; c {
	case '{':
		if depth++; depth > maxJSONDepth {
			return false
		}
		objects[depth>>6] |= 1 << (depth & 63)
		i = skipJSONSpace(data, i+1)
		if i < n && data[i] == '}' {
			i++
			depth--
			goto after
		}
		goto key
	case '[':
		if depth++; depth > maxJSONDepth {
			return false
		}
		objects[depth>>6] &^= 1 << (depth & 63)
		i = skipJSONSpace(data, i+1)
		if i < n && data[i] == ']' {
			i++
			depth--
			goto after
		}
		goto value
	case '"':
		if i = scanJSONString(data, i); i < 0 {
			return false
		}
		goto after
	case 't':
		if !hasJSONLiteral(data, i, "true") {
			return false
		}
		i += 4
		goto after
	case 'f':
		if !hasJSONLiteral(data, i, "false") {
			return false
		}
		i += 5
		goto after
	case 'n':
		if !hasJSONLiteral(data, i, "null") {
			return false
		}
		i += 4
		goto after
	default:
		if i = scanJSONNumber(data, i); i < 0 {
			return false
		}
		goto after
	}

key: // i is at an object key (after whitespace)
	if i >= n || data[i] != '"' {
		return false
	}
	if i = scanJSONString(data, i); i < 0 {
		return false
	}
	i = skipJSONSpace(data, i)
	if i >= n || data[i] != ':' {
		return false
	}
	i = skipJSONSpace(data, i+1)
	goto value

after: // i is just past a complete value
	i = skipJSONSpace(data, i)
	if depth == 0 {
		return i == n
	}
	if i >= n {
		return false
	}
	if objects[depth>>6]&(1<<(depth&63)) != 0 {
		switch data[i] {
		case ',':
			i = skipJSONSpace(data, i+1)
			goto key
		case '}':
			i++
			depth--
			goto after
		}
		return false
	}
	switch data[i] {
	case ',':
		i = skipJSONSpace(data, i+1)
		goto value
	case ']':
		i++
		depth--
		goto after
	}
	return false
}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasJSONLiteral(data []byte, i int, lit string) bool {
	return len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit
}

// jsonStringPlain marks the bytes that stand for themselves inside a
// string: everything from 0x20 up except '"' and '\\'.
var jsonStringPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanJSONString scans the string whose opening quote is at i and returns
// the index just past its closing quote, or -1 if it is not valid.
func scanJSONString(data []byte, i int) int {
	n := len(data)
	i++
	for i < n {
		// Skip 8 plain bytes at a time; otherwise jump to the first byte
		// that is not plain (the lowest flagged byte is exact).
		if n-i >= 8 {
			w := binary.LittleEndian.Uint64(data[i:])
			if special := specialBytes(w); special == 0 {
				i += 8
				continue
			} else {
				i += bits.TrailingZeros64(special) / 8
			}
		}
		c := data[i]
		if jsonStringPlain[c] {
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= n {
				return -1
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if n-i < 6 || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialBytes flags (bit 7 of each byte) the bytes of w, in little-endian
// order, that are below 0x20, '"' or '\\'. Bits above the lowest flag may
// be false alarms (a borrow), the lowest flag is always right, and w with
// no such byte gives 0.
func specialBytes(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((w-ones*0x20) & ^w | (q-ones) & ^q | (b-ones) & ^b) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanJSONNumber scans the number starting at i and returns the index just
// past it, or -1 if no valid number starts there:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanJSONNumber(data []byte, i int) int {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i++
		for i < n && isDigit(data[i]) {
			i++
		}
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		i++
		if i >= n || !isDigit(data[i]) {
			return -1
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n || !isDigit(data[i]) {
			return -1
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
