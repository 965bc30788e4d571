package iggyproto

import "strconv"

// IdentifierKind tells a numeric identifier from a name.
type IdentifierKind uint8

// Identifier kinds, as on the wire.
const (
	NumericKind IdentifierKind = 1
	StringKind  IdentifierKind = 2
)

// Identifier names a stream, topic, consumer group or user, by numeric id
// or by exact (case-sensitive) name. Wire form: [u8 kind][u8 len][value].
type Identifier struct {
	Kind IdentifierKind
	ID   uint32 // when Kind == NumericKind
	Name string // when Kind == StringKind, 1..255 bytes
}

// NumericID returns an identifier for an id.
func NumericID(id uint32) Identifier { return Identifier{Kind: NumericKind, ID: id} }

// NamedID returns an identifier for a name.
func NamedID(name string) Identifier { return Identifier{Kind: StringKind, Name: name} }

// String returns the id in decimal or the name quoted.
func (i Identifier) String() string {
	if i.Kind == NumericKind {
		return strconv.FormatUint(uint64(i.ID), 10)
	}
	return strconv.Quote(i.Name)
}
