package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/rustok/rustok-iggy/transport"
)

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// eventLine is how consume and replay print one delivery as JSON.
type eventLine struct {
	Topic     string            `json:"topic"`
	Partition uint32            `json:"partition"`
	Offset    uint64            `json:"offset"`
	Headers   map[string]string `json:"headers,omitempty"`
	Envelope  json.RawMessage   `json:"envelope,omitempty"`
	Error     string            `json:"decode_error,omitempty"`
}

// printDelivery prints one delivery: a JSON line with asJSON, else a
// line of text.
func printDelivery(w io.Writer, d transport.Delivery, asJSON bool) error {
	if asJSON {
		l := eventLine{Topic: d.Topic, Partition: d.Partition, Offset: d.Message.Offset}
		if d.DecodeErr != nil {
			l.Error = d.DecodeErr.Error()
			l.Headers = map[string]string{}
			for _, h := range d.Message.Headers {
				l.Headers[h.Key] = h.String()
			}
		} else {
			b, err := d.Envelope.MarshalJSON()
			if err != nil {
				return err
			}
			l.Envelope = b
		}
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if d.DecodeErr != nil {
		_, err := fmt.Fprintf(w, "%s/%d@%d  undecodable: %v\n", d.Topic, d.Partition, d.Message.Offset, d.DecodeErr)
		return err
	}
	e := d.Envelope
	data := strings.TrimSpace(string(e.Event.Data))
	if len(data) > 200 {
		data = data[:200] + "…"
	}
	extra := ""
	if e.RetryCount > 0 {
		extra = fmt.Sprintf(" retry_count=%d", e.RetryCount)
	}
	_, err := fmt.Fprintf(w, "%s/%d@%d  %s  %s  tenant=%s id=%s%s  %s %s\n", d.Topic, d.Partition, d.Message.Offset,
		e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), e.EventType, e.TenantID, e.ID, extra, e.Event.Type, data)
	return err
}
