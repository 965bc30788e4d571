package config

import (
	"encoding/json"
	"log/slog"
)

// Redacted is what a Secret prints, logs and marshals as.
const Redacted = "[REDACTED]"

// Secret is a string that must not leak: String, GoString, LogValue,
// MarshalJSON and MarshalYAML all give "[REDACTED]". Reveal returns the
// value itself.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]", so fmt's %s and %v do not show the value.
func (s Secret) String() string { return Redacted }

// GoString returns "[REDACTED]", so fmt's %#v does not show the value.
func (s Secret) GoString() string { return Redacted }

// LogValue implements slog.LogValuer: the secret logs as "[REDACTED]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// MarshalYAML writes "[REDACTED]".
func (s Secret) MarshalYAML() (any, error) { return Redacted, nil }

var _ slog.LogValuer = Secret("")
