package transport

import "log/slog"

const (
	slogInfo  = slog.LevelInfo
	slogWarn  = slog.LevelWarn
	slogError = slog.LevelError
)

func strAttr(k, v string) slog.Attr        { return slog.String(k, v) }
func u64Attr(k string, v uint64) slog.Attr { return slog.Uint64(k, v) }
func errAttr(err error) slog.Attr          { return slog.Any("error", err) }
