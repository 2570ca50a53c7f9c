package telephony

import (
	"context"
	"log/slog"

	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
)

// quiet is the log of the SIP and RTP libraries: only their errors reach
// the server's log. Their warnings are per packet (RTCP reports of a
// stream the relay restamps) and their information per start.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{h: log.Handler(), min: slog.LevelError})
}

type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}
func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}

// quietLibraries sets the libraries' package-wide loggers.
func quietLibraries(log *slog.Logger) {
	q := quiet(log)
	dmedia.SetDefaultLogger(q)
	sip.SetDefaultLogger(q)
}
