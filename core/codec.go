package core

// Codec turns an envelope into bytes and back. Implementations are safe for
// concurrent use.
type Codec interface {
	// Encode returns the encoded envelope. It does not validate e.
	Encode(e Envelope) ([]byte, error)
	// Decode parses b. It returns an error, never panics, on bad input,
	// and the returned envelope does not alias b.
	Decode(b []byte) (Envelope, error)
	// ContentType is the MIME type of the encoding, for example
	// "application/json". It travels in the content_type message header.
	ContentType() string
}
